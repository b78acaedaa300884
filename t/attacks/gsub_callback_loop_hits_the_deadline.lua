-- attack: a string.gsub replacement function that never returns
-- expect: timeout
-- args: --timeout 200ms
return function(event, ctx)
	return (("abc"):gsub(".", function() while true do end end))
end
