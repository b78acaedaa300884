-- Sums the numbers up to n, one by one.
return function(event, ctx)
	local sum = 0
	for i = 1, event.n do
		sum = sum + i
	end
	return sum
end
