-- attack: a string.format field width of a hundred thousand
-- expect: runtime
-- message: invalid conversion
return function(event, ctx)
	return string.format("%099999d", 1)
end
