-- attack: json.decode of an array nested a hundred thousand deep
-- expect: runtime
-- message: json.decode
return function(event, ctx)
	return json.decode(("["):rep(100000) .. ("]"):rep(100000))
end
