-- scopes_clean.lua: locals, upvalues, parameters, loop variables, method
-- self, shadowing, recursion and _ENV tricks: not one warning.
local M = {}
M.__index = M

function M.new(n) return setmetatable({ n = n }, M) end
function M:double() return self.n * 2 end

local function fact(n)
	if n <= 1 then return 1 end
	return n * fact(n - 1)
end

local counter = (function()
	local c = 0
	return function() c = c + 1 return c end
end)()

local function sum(...)
	local total = 0
	for _, v in ipairs({ ... }) do total = total + v end
	return total, select("#", ...)
end

local function shadow(x)
	local x = x + 1
	do
		local x = x * 2
		x = x + 1
	end
	return x
end

local function loops()
	local acc = 0
	for i = 1, 3 do acc = acc + i end
	for k, v in pairs({ a = 1 }) do acc = acc + #k + v end
	repeat
		local last = acc
		acc = acc - 1
	until last < 5
	while acc > 0 do acc = acc - 1 if acc == 2 then goto done end end
	::done::
	return acc
end

local function with_env(_ENV)
	return anything_goes_here
end

local function local_env()
	local _ENV = { x = 1 }
	y = x
	return y
end

return function(event, ctx)
	local m = M.new(event and event.n or 1)
	return m:double(), fact(5), counter(), sum(1, 2, 3), shadow(1),
		loops(), with_env({}), local_env(), ctx.rule
end
