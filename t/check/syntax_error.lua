return function(event, ctx)
	local total = 0
	local x = = 2
	return x
end
