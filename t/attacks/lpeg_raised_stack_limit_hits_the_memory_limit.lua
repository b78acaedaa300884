-- attack: lifts LPeg's backtrack limit so one match recurses over a huge subject
-- expect: memory
return function(event, ctx)
	local P, V = lpeg.P, lpeg.V
	lpeg.setmaxstack(1e7)		-- the most LPeg takes
	local g = P{ "a" * V(1) * "b" + "" }
	return lpeg.match(g, ("a"):rep(2000000))
end
