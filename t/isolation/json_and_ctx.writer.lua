-- writes: json.null, the json.array marker and the ctx table
-- expect: ok
return function(event, ctx)
	json.null = "not null"
	ctx.rule = "forged"
	ctx.extra = "left behind"
	local arr = json.array({})
	return { pcall(setmetatable, arr, nil) }
end
