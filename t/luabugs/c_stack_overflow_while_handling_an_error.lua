-- bug: Lua-stack overflow when C stack overflows while handling an error (5.4.4; CVE-2022-33099, a double free; patched in Debian's 5.4.4-3)
-- reachable: yes: pcall and xpcall
-- expect: ok
-- result: {"ok":false,"says_error":true,"after":"fine"}
return function(event, ctx)
	local function loop() assert(pcall(loop)) end
	local ok, msg = xpcall(loop, loop)
	local after = { pcall(function() return "fine" end) }
	return { ok = ok, says_error = tostring(msg):find("error") ~= nil,
	    after = after[2] }
end
