-- bench/cpu.lua metered by hand, as a rewriter of the rule's code would meter
-- it: each basic block first subtracts its length in VM instructions from a
-- budget held in an upvalue, with no hook at all. It shows what an exact
-- budget would cost if counted in the code rather than by a count hook; it is
-- not something moonbox does. Same result as cpu.lua.
local weights = { 0.5, 1.25, 2.0, 0.75, 1.5, 3.0, 0.25, 1.0 }
local left = 1000000000

local function over()
	error("instruction budget exhausted")
end

local function score(x, w)
	left = left - 3
	if left < 0 then over() end
	return x * w + 1.0
end

return function(event, ctx)
	left = left - 6
	if left < 0 then over() end
	local acc, sum = 7, 0.0
	for i = 1, 100000 do
		left = left - 15
		if left < 0 then over() end
		acc = (acc * 31 + i) % 65521
		local w = weights[(acc & 7) + 1]
		sum = sum + score(acc / 65521, w)
		if sum > 1e6 then
			left = left - 1
			if left < 0 then over() end
			sum = sum - 1e6
		end
	end
	return sum + acc
end
