-- test.lua: the test API of `moonbox test`, loaded into the sandbox of
-- every test: describe/it/test, before_each/after_each, rule(), expect()
-- and its matchers, expect_usage, expect_calls, mock.* and policy.*. Its
-- C half, T (tester_work.c, tester_mock.c), invokes rules in sandboxes of
-- their own, records failures with the test file's line, and keeps the
-- mocks where no rule can reach them. See moonbox-lua(7), "TEST API".
local T = ...
local type, pairs, ipairs, tostring, tonumber, error, select, next =
	type, pairs, ipairs, tostring, tonumber, error, select, next
local setmetatable, rawget, rawequal = setmetatable, rawget, rawequal
local format, find, gsub, sub, byte, upper, lower =
	string.format, string.find, string.gsub, string.sub, string.byte,
	string.upper, string.lower
local insert, concat, sort = table.insert, table.concat, table.sort
local math_type, huge = math.type, math.huge
local json_null, json_encode = json.null, json.encode

local MAX_DIFFS = 20

-- An error at the test file's line: a mistake in using the API.
local function complain(msg)
	local file, line = T.where()
	error(line > 0 and format("%s:%d: %s", file, line, msg) or msg, 0)
end

---------------------------------------------------------------- showing

local escapes = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r",
	['"'] = '\\"', ["\\"] = "\\\\" }

local function quote(s)
	if #s > 200 then s = sub(s, 1, 200) .. "..." end
	return '"' .. gsub(s, '[%c"\\]', function(c)
		return escapes[c] or format("\\%d", byte(c))
	end) .. '"'
end

local function show_number(n)
	if math_type(n) == "integer" then return tostring(n) end
	if n ~= n then return "nan" end
	if n == huge or n == -huge then return n > 0 and "math.huge" or "-math.huge" end
	local s = tostring(n)
	if tonumber(s) ~= n then s = format("%.17g", n) end
	return s
end

local function is_name(k)
	return type(k) == "string" and find(k, "^[%a_][%w_]*$") ~= nil
end

local type_order = { number = 1, string = 2, boolean = 3 }

local function key_before(a, b)
	local ta, tb = type_order[type(a)] or 4, type_order[type(b)] or 4
	if ta ~= tb then return ta < tb end
	if ta <= 2 then return a < b end
	return tostring(a) < tostring(b)
end

local function sorted_keys(...)
	local keys, seen = {}, {}
	for i = 1, select("#", ...) do
		local t = select(i, ...)
		for k in next, t do
			if not seen[k] then seen[k] = true; keys[#keys + 1] = k end
		end
	end
	sort(keys, key_before)
	return keys
end

local show

local function show_table(t, depth)
	if depth > 2 then return "{...}" end
	local keys, parts, n = sorted_keys(t), {}, 0
	local array = #keys > 0
	for i, k in ipairs(keys) do
		if k ~= i then array = false end
	end
	for _, k in ipairs(keys) do
		n = n + 1
		if n > 8 then parts[#parts + 1] = "..."; break end
		local v = show(rawget(t, k), depth + 1)
		if array then
			parts[#parts + 1] = v
		elseif is_name(k) then
			parts[#parts + 1] = k .. " = " .. v
		else
			parts[#parts + 1] = "[" .. show(k, 3) .. "] = " .. v
		end
	end
	return "{" .. concat(parts, ", ") .. "}"
end

function show(v, depth)
	local t = type(v)
	if v == nil then return "nil"
	elseif rawequal(v, json_null) then return "json.null"
	elseif t == "string" then return quote(v)
	elseif t == "number" then return show_number(v)
	elseif t == "table" then return show_table(v, depth or 0)
	elseif t == "boolean" then return tostring(v)
	else return "a " .. t end
end

---------------------------------------------------------------- diffs

local function key_path(k)
	if is_name(k) then return "." .. k end
	if math_type(k) == "integer" then return "[" .. k .. "]" end
	return "[" .. show(k, 3) .. "]"
end

-- Every place where got differs from want, as "path: expected X, got Y".
local function diff(path, want, got, out, seen)
	if #out >= MAX_DIFFS then return end
	if type(want) == "table" and type(got) == "table" then
		seen = seen or {}
		if seen[want] == got then return end
		seen[want] = got
		for _, k in ipairs(sorted_keys(want, got)) do
			diff(path .. key_path(k), rawget(want, k), rawget(got, k),
				out, seen)
		end
	elseif not (want == got) and not (want ~= want and got ~= got) then
		out[#out + 1] = format("%s: expected %s, got %s", path,
			show(want), show(got))
	end
end

local function deep_equal(a, b)
	local out = {}
	diff("", a, b, out)
	return #out == 0
end

---------------------------------------------------------------- tests

local root = { before = {}, after = {} }
local scope = root
local tests = {}
local in_test = false

local function suite_names(s)
	local names = {}
	while s ~= nil and s.name ~= nil do
		insert(names, 1, s.name)
		s = s.parent
	end
	return names
end

local function add_test(name, fn, skip)
	if type(name) ~= "string" then
		complain("it(name, fn): a test needs a name, a string")
	end
	if fn ~= nil and type(fn) ~= "function" then
		complain("it(name, fn): the test is a function")
	end
	if in_test then complain("a test cannot declare tests") end
	local _, line = T.where()
	local suite = suite_names(scope)
	local parts = { name }
	for i = #suite, 1, -1 do insert(parts, 1, suite[i]) end
	tests[#tests + 1] = { name = concat(parts, " "), test = name,
		suite = suite, line = line, fn = fn, scope = scope,
		skip = skip or fn == nil or scope.skip }
end

local function add_suite(name, fn, skip)
	if type(name) ~= "string" or type(fn) ~= "function" then
		complain("describe(name, fn): a name and a function")
	end
	if in_test then complain("a test cannot declare describe blocks") end
	local outer = scope
	scope = { name = name, parent = outer, before = {}, after = {},
		skip = skip or outer.skip }
	fn()
	scope = outer
end

local function hook(list_name)
	return function(fn)
		if type(fn) ~= "function" then
			complain(list_name .. "(fn): takes a function")
		end
		if in_test then complain(list_name .. " is declared outside tests") end
		insert(scope[list_name == "before_each" and "before" or "after"], fn)
	end
end

it = setmetatable({ skip = function(name, fn) add_test(name, fn, true) end },
	{ __call = function(_, name, fn) add_test(name, fn, false) end })
test = it
describe = setmetatable({
	skip = function(name, fn) add_suite(name, fn, true) end },
	{ __call = function(_, name, fn) add_suite(name, fn, false) end })
before_each = hook("before_each")
after_each = hook("after_each")

-- For the worker: the tests in order.
local function list()
	local out = {}
	for i, t in ipairs(tests) do
		out[i] = { name = t.name, test = t.test, suite = t.suite,
			line = t.line, skip = t.skip }
	end
	return out
end

-- For the worker: run test i with the hooks of its describe blocks,
-- outermost first (after_each innermost first, even after a failure).
local function run(i)
	local t = tests[i]
	if t == nil then return nil end
	local chain, s = {}, t.scope
	while s ~= nil do insert(chain, 1, s); s = s.parent end
	in_test = true
	local ok = true
	for _, sc in ipairs(chain) do
		for _, fn in ipairs(sc.before) do
			if ok then ok = T.pcall(fn) end
		end
	end
	if ok then T.pcall(t.fn) end
	for k = #chain, 1, -1 do
		for _, fn in ipairs(chain[k].after) do T.pcall(fn) end
	end
	in_test = false
	return t.name
end

local function need_test(what)
	if not in_test then
		complain(what .. " is for inside a test or a before_each")
	end
end

---------------------------------------------------------------- rules

local result_mt = { __index = function(r, k)
	if k == "value" and rawget(r, "ok") == false then
		local e = rawget(r, "error")
		complain(format("rule %s failed (%s: %s), so it has no value; "
			.. "test a failure with expect(r).to_fail_with(kind)",
			rawget(r, "rule"), e.kind, e.message))
	end
end }

local rule_mt = {
	__call = function(self, event, limits)
		need_test("invoking a rule")
		if limits ~= nil and type(limits) ~= "table" then
			complain("a rule is called with an event and a table of limits")
		end
		return setmetatable(T.invoke(self.name, event, limits), result_mt)
	end,
	__tostring = function(self) return "rule " .. self.name end,
}

function rule(name)
	if name == nil then
		name = T.default_rule
		if name == nil then
			complain("rule(): there is no rule beside this test file "
				.. "(NAME.lua next to NAME_test.lua); name one: "
				.. 'rule("payments/fraud")')
		end
	elseif type(name) ~= "string" then
		complain('rule(name): a name like "payments/fraud"')
	end
	T.have_rule(name)
	return setmetatable({ name = name }, rule_mt)
end

---------------------------------------------------------------- expect

local function is_result(v)
	return type(v) == "table" and type(rawget(v, "ok")) == "boolean" and
		type(rawget(v, "rule")) == "string"
end

local function need_result(v, what)
	if not is_result(v) then
		complain(what .. " takes what a rule call returned, r = myrule(event)")
	end
end

local function failure_text(r)
	local e = rawget(r, "error")
	return format("it failed with %s: %s", e.kind, e.message)
end

-- Each matcher: (label, value, args...) -> pass, message, negated message.
local matchers = {}

function matchers.to_be(l, v, want)
	return v == want, format("expected %s to be %s, got %s", l, show(want),
		show(v)), format("expected %s not to be %s", l, show(want))
end

function matchers.to_equal(l, v, want)
	local out = {}
	diff(l, want, v, out)
	local msg = out[1]
	if #out > 1 then
		msg = format("%s differs from what was expected in %d place%s:\n  %s",
			l, #out, #out >= MAX_DIFFS and "s or more" or "s",
			concat(out, "\n  "))
	end
	return #out == 0, msg, format("expected %s not to equal %s", l, show(want))
end

function matchers.to_be_nil(l, v)
	return v == nil, format("expected %s to be nil, got %s", l, show(v)),
		format("expected %s not to be nil", l)
end

function matchers.to_be_truthy(l, v)
	return not not v, format("expected %s to be truthy, got %s", l, show(v)),
		format("expected %s not to be truthy, got %s", l, show(v))
end

function matchers.to_be_falsy(l, v)
	return not v, format("expected %s to be falsy, got %s", l, show(v)),
		format("expected %s not to be falsy, got %s", l, show(v))
end

function matchers.to_contain(l, v, x)
	local pass
	if type(v) == "string" and type(x) == "string" then
		pass = find(v, x, 1, true) ~= nil
	elseif type(v) == "table" then
		pass = false
		for _, e in pairs(v) do
			if deep_equal(e, x) then pass = true; break end
		end
	else
		complain("to_contain: takes a string (and a substring) or a table")
	end
	return pass, format("expected %s to contain %s, got %s", l, show(x),
		show(v)), format("expected %s not to contain %s", l, show(x))
end

function matchers.to_match(l, v, pattern)
	if type(v) ~= "string" or type(pattern) ~= "string" then
		complain("to_match: takes a string and a Lua pattern")
	end
	return find(v, pattern) ~= nil, format("expected %s to match %s, got %s",
		l, show(pattern), show(v)),
		format("expected %s not to match %s, got %s", l, show(pattern), show(v))
end

local function compare(name, op)
	return function(l, v, n)
		if type(v) ~= "number" or type(n) ~= "number" then
			complain(name .. ": compares numbers; got " .. show(v) ..
				" and " .. show(n))
		end
		local words = gsub(sub(name, 4), "_", " ")
		return op(v, n), format("expected %s to %s %s, got %s", l, words,
			show(n), show(v)), format("expected %s not to %s %s, got %s",
			l, words, show(n), show(v))
	end
end

matchers.to_be_greater_than = compare("to_be_greater_than",
	function(a, b) return a > b end)
matchers.to_be_less_than = compare("to_be_less_than",
	function(a, b) return a < b end)
matchers.to_be_at_least = compare("to_be_at_least",
	function(a, b) return a >= b end)
matchers.to_be_at_most = compare("to_be_at_most",
	function(a, b) return a <= b end)

function matchers.to_be_close_to(l, v, n, delta)
	delta = delta or 1e-9
	if type(v) ~= "number" or type(n) ~= "number" or type(delta) ~= "number" then
		complain("to_be_close_to: takes numbers")
	end
	local d = v - n
	return d <= delta and -d <= delta,
		format("expected %s to be within %s of %s, got %s", l, show(delta),
			show(n), show(v)),
		format("expected %s not to be within %s of %s", l, show(delta), show(n))
end

function matchers.to_have_length(l, v, n)
	if type(v) ~= "string" and type(v) ~= "table" then
		complain("to_have_length: takes a string or a table")
	end
	return #v == n, format("expected %s to have length %s, got %d", l,
		show(n), #v), format("expected %s not to have length %s", l, show(n))
end

function matchers.to_succeed(l, r)
	need_result(r, "to_succeed")
	return r.ok, format("expected %s to succeed, %s", l, r.ok and "" or
		failure_text(r)), format("expected %s to fail, it succeeded with %s",
		l, show(rawget(r, "value")))
end

function matchers.to_fail_with(l, r, kind, pattern)
	need_result(r, "to_fail_with")
	if type(kind) ~= "string" then
		complain("to_fail_with(kind): an error kind like \"timeout\"")
	end
	local e = rawget(r, "error")
	if r.ok then
		return false, format("expected %s to fail with %s, it succeeded "
			.. "with %s", l, kind, show(rawget(r, "value"))),
			format("expected %s not to fail with %s", l, kind)
	end
	local pass = e.kind == kind and (pattern == nil or
		find(e.message, pattern) ~= nil)
	local want = pattern and format("%s matching %s", kind, show(pattern))
		or kind
	return pass, format("expected %s to fail with %s, %s", l, want,
		failure_text(r)), format("expected %s not to fail with %s, %s", l,
		want, failure_text(r))
end

local matcher_names = sorted_keys(matchers)

-- The expression inside expect(...) on the test's line, for messages.
local function label()
	local _, _, text = T.where()
	local at = find(text, "%f[%w_]expect%s*%(")
	if at ~= nil and find(text, "%f[%w_]expect%s*%(", at + 1) == nil then
		local e = text:match("expect%s*(%b())", at)
		if e ~= nil and #e <= 62 then return sub(e, 2, -2) end
	end
	return "the value"
end

local function expectation(v, negated, l)
	local self = {}
	return setmetatable(self, { __index = function(_, name)
		if name == "not_" then return expectation(v, not negated, l) end
		local m = matchers[name]
		if m == nil then
			complain(format("expect(...).%s: no such matcher; there are "
				.. "not_, %s", tostring(name), concat(matcher_names, ", ")))
		end
		return function(first, ...)
			local pass, msg, nmsg
			if rawequal(first, self) then	-- called with ':'
				pass, msg, nmsg = m(l, v, ...)
			else
				pass, msg, nmsg = m(l, v, first, ...)
			end
			if negated then pass, msg = not pass, nmsg end
			if not pass then T.fail(msg) end
		end
	end })
end

function expect(v)
	return expectation(v, false, label())
end

local function show_size(n)
	if n >= 1048576 then return format("%d bytes (%.1fM)", n, n / 1048576) end
	if n >= 1024 then return format("%d bytes (%.1fK)", n, n / 1024) end
	return format("%d bytes", n)
end

local function count(v)
	local n = tonumber(v)
	if n == nil then complain("expect_usage: a bound is a number") end
	return n
end

-- Each bound: its name, the usage field, how to read it, how to show it.
local function whole(n) return format("%.0f", n) end

local usage_bounds = {
	{ "instructions", "instructions", count, whole },
	{ "memory", "memory", T.size, show_size },
	{ "time", "wall_ms", T.ms, function(ms) return format("%.3f ms", ms) end },
	{ "calls", "calls", count, whole },
}

-- expect_usage(r, {instructions = N, memory = SIZE, time = TIME,
-- calls = N}): the invocation stayed within each bound given.
function expect_usage(r, bounds)
	need_result(r, "expect_usage")
	if type(bounds) ~= "table" then
		complain("expect_usage(r, bounds): bounds like { instructions = 1e6, "
			.. 'memory = "2M" }')
	end
	local known, over = {}, {}
	for _, b in ipairs(usage_bounds) do
		local key, field, read, fmt = b[1], b[2], b[3], b[4]
		known[key] = true
		if bounds[key] ~= nil then
			local limit = read(bounds[key])
			local used = r.usage[field]
			if used == nil then
				over[#over + 1] = key .. " were not counted: this Lua "
					.. "library cannot count them"
			elseif used > limit then
				over[#over + 1] = format("%s: used %s, at most %s", key,
					fmt(used), fmt(limit))
			end
		end
	end
	for k in pairs(bounds) do
		if not known[k] then
			complain("expect_usage: unknown bound " .. tostring(k) ..
				"; the bounds are instructions, memory, time and calls")
		end
	end
	if #over > 0 then
		T.fail(format("rule %s went over its usage bounds: %s", r.rule,
			concat(over, "; ")))
	end
end

local function show_call(c)
	local what = c.call or "?"
	if c.method ~= nil then what = what .. " " .. c.method end
	if c.url ~= nil then what = what .. " " .. c.url end
	if c.key ~= nil then what = what .. " " .. show(c.key) end
	if c.name ~= nil then what = what .. " " .. show(c.name) end
	return what
end

-- expect_calls(r, {{call = "http.request", url = ...}, ...}): the calls
-- the invocation made, in order; each expected entry names the fields it
-- checks.
function expect_calls(r, expected)
	need_result(r, "expect_calls")
	if type(expected) ~= "table" then
		complain("expect_calls(r, calls): a list of calls like "
			.. '{ call = "kv.get", key = "k" }')
	end
	local calls, out = r.calls, {}
	if #calls ~= #expected then
		local made = {}
		for i, c in ipairs(calls) do made[i] = "  " .. show_call(c) end
		T.fail(format("expected %d call%s, rule %s made %d%s%s", #expected,
			#expected == 1 and "" or "s", r.rule, #calls,
			#calls > 0 and ":\n" or "", concat(made, "\n")))
	end
	for i, want in ipairs(expected) do
		if type(want) ~= "table" then
			complain("expect_calls: each call is a table of the fields it checks")
		end
		for k, v in pairs(want) do
			diff(format("calls[%d]%s", i, key_path(k)), v, calls[i][k], out)
		end
	end
	if #out > 0 then T.fail(concat(out, "\n")) end
end

---------------------------------------------------------------- mocks

local http_fields = { method = true, url = true, status = true,
	headers = true, body = true, json = true, error = true, message = true,
	times = true, optional = true }

mock = {}

-- mock.http{method, url, status, headers, body | json, error, message,
-- times, optional}: answer the rule's matching calls.
function mock.http(spec)
	need_test("mock.http")
	if type(spec) ~= "table" then
		complain('mock.http{ url = "https://...", ... }: takes a table')
	end
	local s = {}
	for k, v in pairs(spec) do
		if not http_fields[k] then
			complain("mock.http: unknown field " .. tostring(k))
		end
		s[k] = v
	end
	if s.json ~= nil then
		if s.body ~= nil then complain("mock.http: body or json, not both") end
		s.body = json_encode(s.json)
		local h, typed = {}, false
		if s.headers ~= nil and type(s.headers) ~= "table" then
			complain("mock.http: headers is a table of strings")
		end
		for k, v in pairs(s.headers or {}) do
			h[k] = v
			typed = typed or (type(k) == "string" and
				lower(k) == "content-type")
		end
		if not typed then h["content-type"] = "application/json" end
		s.headers, s.json = h, nil
	end
	if type(s.method) == "string" then s.method = upper(s.method) end
	T.mock_http(s)
end

mock.kv = setmetatable({
	get = function(key) need_test("mock.kv.get"); return T.kv_get(key) end,
	set = function(key, value, ttl_ms)
		need_test("mock.kv.set")
		T.kv_set(key, value, ttl_ms)
	end,
}, { __call = function(_, t)
	need_test("mock.kv")
	if type(t) ~= "table" then complain("mock.kv{ key = value, ... }") end
	for k, v in pairs(t) do T.kv_set(k, v) end
end })

function mock.secrets(t)
	need_test("mock.secrets")
	if type(t) ~= "table" then complain("mock.secrets{ name = \"value\" }") end
	for k, v in pairs(t) do T.secret(k, v) end
end

mock.time = setmetatable({
	advance = function(s) need_test("mock.time.advance"); return T.advance(s) end,
	now = function() return T.clock() end,
}, { __call = function(_, t)
	need_test("mock.time")
	return T.clock(t)
end })

policy = {
	ignore = function() need_test("policy.ignore"); T.policy_ignore() end,
	expect_denial = function()
		need_test("policy.expect_denial")
		T.expect_denial()
	end,
}

return { list = list, run = run }
