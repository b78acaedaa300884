-- Plain lua5.4's side of bench/: run a rule file the way an invocation does
-- (compile the text, run the chunk, call the function it returns with an
-- event and a ctx), N times in one process, and print one line per call:
--   plain COMPILE_US CALL_US TOTAL_US RESULT
-- Times are CPU time from os.clock, the clock sbxbench uses by default.
-- usage: lua5.4 bench/cpu-plain.lua RULE.lua N
local path, n = arg[1], tonumber(arg[2] or "20")
assert(path and n, "usage: lua5.4 cpu-plain.lua RULE.lua N")
local f = assert(io.open(path, "rb"))
local src = f:read("a")
f:close()
local name = path:gsub("%.lua$", "")
local clock = os.clock

for _ = 1, n do
	local t0 = clock()
	local fn = assert(load(src, "@" .. path, "t"))()
	local t1 = clock()
	local r = fn(nil, { rule = name, invocation = "" })
	local t2 = clock()
	-- a float as jansson writes it, so run.sh can compare the results
	r = math.type(r) == "float" and string.format("%.17g", r) or tostring(r)
	print(string.format("plain %.1f %.1f %.1f %s", (t1 - t0) * 1e6,
	    (t2 - t1) * 1e6, (t2 - t0) * 1e6, r))
end
