-- attack: an LPeg grammar that recurses once per character of a long subject
-- expect: runtime
-- message: backtrack stack overflow
return function(event, ctx)
	local P, V = lpeg.P, lpeg.V
	local g = P{ "a" * V(1) * "b" + "" }
	return lpeg.match(g, ("a"):rep(100000))
end
