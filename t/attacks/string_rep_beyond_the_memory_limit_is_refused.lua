-- attack: one string.rep of a gigabyte
-- expect: memory
return function(event, ctx)
	return #("x"):rep(1e9)
end
