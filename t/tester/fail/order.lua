return function(event, ctx)
	return { items = { { price = 10 }, { price = 11 }, { price = 12 } },
		status = "open" }
end
