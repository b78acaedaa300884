-- scopes_out_of_scope.lua: names used where their local is not visible.
do
	local inner = 1
end
for i = 1, 2 do end
local x = x
local function f() return later end
local later = 1
return function(event, ctx)
	return inner, i, x, f, later
end
