-- attack: an LPeg grammar that rescans the rest of a long subject from every position inside one match
-- expect: timeout
-- args: --timeout 200ms
-- runaway: c
return function(event, ctx)
	local P, V = lpeg.P, lpeg.V
	local g = P{ (1 - P"x")^0 * "x" + 1 * V(1) }
	return lpeg.match(g, ("a"):rep(80000))
end
