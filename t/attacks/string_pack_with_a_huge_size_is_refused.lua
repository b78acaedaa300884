-- attack: string.pack with an integer size and a padding beyond the format's limits
-- expect: runtime
-- message: out of limits
return function(event, ctx)
	return string.pack("i17", 1)
end
