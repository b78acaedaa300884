-- attack: string.byte over a megabyte, one stack slot per byte
-- expect: runtime
-- message: string slice too long
return function(event, ctx)
	return string.byte(("x"):rep(1000000), 1, -1)
end
