-- writes: LPeg's backtrack limit (state of the Lua state's registry), its locale table and re's locale
-- expect: ok
return function(event, ctx)
	lpeg.setmaxstack(5)
	local t = lpeg.locale()
	t.alpha = lpeg.P(1)
	lpeg.locale = function(into)
		for k, v in pairs(t) do into[k] = v end
		return into
	end
	re.updatelocale()
	local ok = pcall(lpeg.match, lpeg.P{ "a" * lpeg.V(1) * "b" + "" }, ("a"):rep(50) .. ("b"):rep(50))
	return ok and "limit not set" or "limit set"
end
