-- attack: an inconsistent table.sort comparator, which can walk the C sort off the array
-- expect: runtime
-- message: invalid order function for sorting
return function(event, ctx)
	local t = {}
	for i = 1, 500 do t[i] = i % 7 end
	table.sort(t, function(a, b) return true end)
end
