-- cap.lua: the capability modules a rule sees: log, kv, http, secrets,
-- time. Thin wrappers that check their arguments and make one call through
-- `call` (mod_cap.c) to the broker, which checks the policy and performs
-- the call. Loaded on a rule's first use of any of them; see moonbox-lua(7).
local call, append_log = ...
local type, error, pairs, tostring, math_type =
	type, error, pairs, tostring, math.type
local format = string.format

local function bad(fname, i, what, v)
	error(format("bad argument #%d to '%s' (%s expected, got %s)",
		i, fname, what, type(v)), 3)
end

local function need_string(fname, i, v)
	if type(v) ~= "string" then bad(fname, i, "string", v) end
end

local function opt_ms(fname, i, v)
	if v ~= nil and (math_type(v) ~= "integer" or v < 0) then
		bad(fname, i, "a whole number of milliseconds", v)
	end
end

local log = {}
for _, level in pairs{ "debug", "info", "warn", "error" } do
	local name = "log." .. level
	log[level] = function(msg, fields)
		need_string(name, 1, msg)
		if fields ~= nil and type(fields) ~= "table" then
			bad(name, 2, "table or nil", fields)
		end
		call("log", level, msg, fields)
		append_log(level, msg)
	end
end

local kv = {}
function kv.get(key)
	need_string("kv.get", 1, key)
	return call("kv", "get", key)
end
function kv.set(key, value, ttl_ms)
	need_string("kv.set", 1, key)
	if value == nil then bad("kv.set", 2, "a value", value) end
	opt_ms("kv.set", 3, ttl_ms)
	call("kv", "set", key, value, ttl_ms)
end
function kv.del(key)
	need_string("kv.del", 1, key)
	return call("kv", "del", key)
end
function kv.incr(key, by, ttl_ms)
	need_string("kv.incr", 1, key)
	if by ~= nil and math_type(by) ~= "integer" then
		bad("kv.incr", 2, "integer", by)
	end
	opt_ms("kv.incr", 3, ttl_ms)
	return call("kv", "incr", key, by or 1, ttl_ms)
end

local http = {}
function http.request(req)
	if type(req) ~= "table" then bad("http.request", 1, "table", req) end
	local r = { method = req.method or "GET", url = req.url,
		body = req.body, timeout = req.timeout, headers = {} }
	need_string("http.request", 1, r.url)
	need_string("http.request", 1, r.method)
	if r.body ~= nil then need_string("http.request", 1, r.body) end
	opt_ms("http.request", 1, r.timeout)
	if req.headers ~= nil then
		if type(req.headers) ~= "table" then
			bad("http.request", 1, "a table of headers", req.headers)
		end
		for k, v in pairs(req.headers) do
			if type(k) ~= "string" or type(v) ~= "string" then
				error("http.request: headers are strings", 2)
			end
			r.headers[k] = v
		end
	end
	return call("http", "request", r)
end

local secrets = {}
function secrets.get(name)
	need_string("secrets.get", 1, name)
	return call("secret", "get", name)
end

local time = {}
function time.now()
	return call("time", "now")
end

return log, kv, http, secrets, time
