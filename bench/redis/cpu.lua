-- bench/cpu.lua for Redis EVALSHA (Lua 5.1): the same 100,000 turns. Lua
-- 5.1 has no integers and no '&': every number is a double, exact here
-- (all integers stay below 2^53), and acc & 7 is written acc % 8, the same
-- value for acc >= 0 and, like '&', one VM instruction. The result is
-- returned as text, with the fewest digits that read back to the same
-- double (as moonbox's JSON prints one), since Redis truncates a number
-- reply to an integer.
local weights = { 0.5, 1.25, 2.0, 0.75, 1.5, 3.0, 0.25, 1.0 }

local function score(x, w)
	return x * w + 1.0
end

local acc, sum = 7, 0.0
for i = 1, 100000 do
	acc = (acc * 31 + i) % 65521
	local w = weights[(acc % 8) + 1]
	sum = sum + score(acc / 65521, w)
	if sum > 1e6 then
		sum = sum - 1e6
	end
end
local r = sum + acc
for digits = 15, 17 do
	local text = string.format("%." .. digits .. "g", r)
	if tonumber(text) == r then
		return text
	end
end
