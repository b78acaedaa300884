-- writes: every library table (string, table, math, utf8, coroutine, json, base64, crypto, lpeg, re)
-- expect: ok
return function(event, ctx)
	local evil = function() return "pwned" end
	string.rep, table.concat, math.floor, utf8.char = evil, evil, evil, evil
	coroutine.wrap, json.encode, base64.encode, crypto.sha256 = evil, evil, evil, evil
	lpeg.match = evil
	re.find = evil			-- loads re, then replaces one of its functions
	math.pi = 3
	string.evil, table.evil = evil, evil
	return "written"
end
