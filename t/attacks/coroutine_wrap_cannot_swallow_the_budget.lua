-- attack: spends the budget inside coroutine.wrap under pcall and carries on outside
-- expect: instructions
-- args: --instructions 100000
return function(event, ctx)
	local f = coroutine.wrap(function() while true do end end)
	pcall(f)
	local n = 0
	for i = 1, 100 do n = n + i end
	return n
end
