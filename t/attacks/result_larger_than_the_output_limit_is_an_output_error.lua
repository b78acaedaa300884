-- attack: returns a result far larger than the output limit
-- expect: output
-- message: larger than the output limit of 65536 bytes
return function(event, ctx)
	return ("x"):rep(1000000)
end
