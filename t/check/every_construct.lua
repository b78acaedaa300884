-- every_construct.lua: every construct of Lua 5.4 in a clean rule; moonbox
-- check must read it without a warning. (It is not meant to do anything.)
--[==[ a long comment with ]] and ]=] inside
and a second line ]==]
--[[ another ]] local shebang_like = "#!"

local a, b <const>, c <close> = 1, "two", nil
local s1, s2, s3 = 'single \'quoted\'', "double \"quoted\" \z
                   continued", [[
long string, first newline dropped]]
local s4 = [==[with ]] inside]==] .. "\x41\65\u{48}\u{7FF}\z   \n\t\\"
local n1, n2, n3, n4, n5 = 0xff, 0x1p4, 3.25e-2, .5, 1e10
local n6, n7 = 0xA.8p0, 7 // 2
local bits = (n1 & 0x0f) | (n1 ~ 3) << 2 >> 1 ~ ~n1
local cmp = a < 2 and a <= 2 and a > 0 and a >= 0 and a ~= 3 and a == 1
local arith = -a + a * 2 / 3 % 4 - 2 ^ -a ^ 2 .. #s1 .. not cmp

local M = {}
M.__index = M

function M.new(x)
	return setmetatable({ x = x, [1] = "one", "positional"; last = true, }, M)
end

function M:get(...)
	local extra = select("#", ...)
	return self.x + extra
end

M.nested = {}
function M.nested.deep(v) return v end

local obj = M.new(5)
local r1 = obj:get(1, 2, 3)
local r2 = obj:get "string arg" .. obj:get { table = "arg" } .. obj:get [[long arg]]
local r3 = (M.new)(1):get()
local t = { f = function(...) return ... end, g = function() end }
local sum = 0

for i = 1, 10, 2 do sum = sum + i end
for i = 10, 1, -1 do
	if i % 2 == 0 then goto continue end
	sum = sum + i
	::continue::
end
for k, v in pairs(t) do sum = sum + #k end
for _, v in ipairs({ 1, 2, 3 }) do sum = sum + v end
for k, v, extra in next, t do local _ = extra end

while sum > 100 do sum = sum - 1 if sum == 50 then break end end
repeat
	local inner = sum
	sum = sum - 1
until inner < 10

do
	local shadow = 1
	do
		local shadow = shadow + 1
		sum = sum + shadow
	end
end

local function recursive(n)
	if n <= 0 then return 0 end
	return n + recursive(n - 1)
end

local function upvalues()
	local count = 0
	return function()
		count = count + 1
		return count
	end
end

local counter = upvalues()
counter()

if sum > 1 then
	sum = 1
elseif sum < 0 then
	sum = 0
else
	sum = -1
end

local co = coroutine.wrap(function(x)
	local y = coroutine.yield(x + 1)
	return y * 2
end)

do
	local _ENV = { print = print }
	undeclared_but_in_a_local_env = 1
	print(undeclared_but_in_a_local_env)
end

local function with_env(_ENV)
	return field_of_env
end

local ok, err = pcall(error, { code = 1 })
local mt = getmetatable("")
local len = #"abc" + #{ 1, 2 } + string.len("x") + ("x"):len()
local str = string.format("%s %d %q", "a", 1, "b"):upper():lower()
local j = json.encode({ a = 1 }) .. base64.encode("x") .. crypto.sha256("x")
local pat = lpeg.P("a") ^ 1 * re.compile("[a-z]+")
local u = utf8.char(72, 105) .. table.concat({ "a", "b" }, ",")
local m = math.max(1, 2) + math.pi + math.huge - math.mininteger
local ty = type(nil) .. tostring(true) .. tostring(tonumber("1"))

return function(event, ctx)
	local x <const> = event and event.x or 0
	local v = kv.get("prefix:" .. ctx.rule)
	log.info("hello", { x = x })
	print(x, v, _VERSION, _G, _ENV)
	local now = time.now()
	local resp = http.request{ method = "GET", url = "https://example.com/" }
	local key = secrets.get("name")
	local nothing = rawget(M, "x") or rawlen({}) or rawequal(1, 1)
	for i, w in ipairs({}) do next({}) end
	assert(true, "fine")
	collectgarbage("count")
	return { r1, r2, r3, co, counter, recursive, with_env, ok, err, mt, len,
		str, j, pat, u, m, ty, s1, s2, s3, s4, n2, n3, n4, n5, n6, n7, bits,
		arith, obj, b, c, now, resp, key, nothing, xpcall(print, print) }
end
