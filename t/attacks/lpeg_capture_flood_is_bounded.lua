-- attack: an LPeg pattern that makes one capture per character of a long subject
-- expect: memory
return function(event, ctx)
	local t = { lpeg.match(lpeg.C(1)^0, ("x"):rep(4000000)) }
	return #t
end
