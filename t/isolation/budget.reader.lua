-- reads: about half the budget, which it must have whole
-- result: 50005000
return function(event, ctx)
	local n = 0
	for i = 1, 10000 do n = n + i end
	return n
end
