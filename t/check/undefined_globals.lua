-- undefined_globals.lua: reads of globals nobody defines, with the name
-- that was probably meant when one is close.
local foo = 1
local function helper(x) return x end
return function(event, ctx)
	prnt("hello")
	local a = fooo + 1
	local t = tabel.concat({})
	local s = strng.upper("x")
	local h = helpr(2)
	local z = nonsense_without_a_neighbour
	return a, t, s, h, z, foo, helper
end
