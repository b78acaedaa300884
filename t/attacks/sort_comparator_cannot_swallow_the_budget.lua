-- attack: a sort comparator that pcalls the loop so the C sort goes on comparing
-- expect: instructions
-- args: --instructions 100000
return function(event, ctx)
	local t = {}
	for i = 1, 1000 do t[i] = (i * 7919) % 1000 end
	table.sort(t, function(a, b)
		pcall(function() while true do end end)
		return a < b
	end)
	return t[1]
end
