-- The coroutine workload of bench/: 50,000 round trips into a coroutine
-- (resume, yield). A count hook is per coroutine, so the sandbox re-aims its
-- hook and settles the budget at every switch; this shows what that costs.
return function(event, ctx)
	local co = coroutine.wrap(function(x)
		local s = 0
		while true do
			s = s + x
			x = coroutine.yield(s)
		end
	end)
	local r
	for i = 1, 50000 do
		r = co(i)
	end
	return r
end
