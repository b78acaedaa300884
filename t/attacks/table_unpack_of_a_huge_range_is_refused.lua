-- attack: table.unpack of a hundred million values
-- expect: runtime
-- message: too many results to unpack
return function(event, ctx)
	return table.unpack({}, 1, 1e8)
end
