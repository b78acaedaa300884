-- The cpu workload of bench/: a rule that only computes. 100,000 turns of a
-- loop of mixed integer and float arithmetic, a table read, a call of a local
-- function and a branch, as rule code is written; it returns a number.
-- bench/cpu-plain.lua runs this same file under plain lua5.4.
local weights = { 0.5, 1.25, 2.0, 0.75, 1.5, 3.0, 0.25, 1.0 }

local function score(x, w)
	return x * w + 1.0
end

return function(event, ctx)
	local acc, sum = 7, 0.0
	for i = 1, 100000 do
		acc = (acc * 31 + i) % 65521
		local w = weights[(acc & 7) + 1]
		sum = sum + score(acc / 65521, w)
		if sum > 1e6 then
			sum = sum - 1e6
		end
	end
	return sum + acc
end
