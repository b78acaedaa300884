-- attack: returns a table that contains itself
-- expect: output
-- message: cycle
return function(event, ctx)
	local t = {}
	t.self = t
	return t
end
