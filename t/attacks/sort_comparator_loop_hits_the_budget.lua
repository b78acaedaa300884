-- attack: a table.sort comparator that never returns
-- expect: instructions
-- args: --instructions 200000
return function(event, ctx)
	table.sort({ 3, 1, 2 }, function(a, b) while true do end end)
end
