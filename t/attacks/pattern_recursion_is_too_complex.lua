-- attack: a pattern whose matcher recurses once per item, for a C stack overflow
-- expect: runtime
-- message: pattern too complex
return function(event, ctx)
	local n = 100000
	return string.match(("a"):rep(n), (".?"):rep(n))
end
