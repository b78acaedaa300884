-- attack: LPeg and re captures (Cmt, function captures, re's defs) look for the removed functions and re's private helpers
-- expect: ok
-- result: {"cmt":"nil","fcap":"nil","re_def":"nil","re_keys":"compile,find,gsub,match,updatelocale","re_meta":"nil","lpeg_meta":"lpeg.pattern","carg":"table"}
return function(event, ctx)
	local r = {}
	lpeg.match(lpeg.Cmt(lpeg.P(1), function(s, i)
		r.cmt = type(debug or load or require)
		return i
	end), "x")
	lpeg.match(lpeg.P(1) / function() r.fcap = type(io or os) end, "x")
	re.compile(". -> f", { f = function(c)
		r.re_def = type(require or load or rawgetmetatable)
		return c
	end }):match("x")
	local keys = {}
	for k in pairs(re) do keys[#keys + 1] = k end
	table.sort(keys)
	r.re_keys = table.concat(keys, ",")
	r.re_meta = type(getmetatable(re))
	r.lpeg_meta = getmetatable(lpeg.P(1))
	r.carg = type(lpeg.match(lpeg.Carg(1), "x", 1, {}))
	return r
end
