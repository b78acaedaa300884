-- attack: json.encode of a small table that holds one subtable twice at each of 60 levels (2^60 paths), built outside the Lua state
-- expect: memory
-- args: --memory 1M --timeout 30s
return function(event, ctx)
	local t = {}
	for i = 1, 60 do t = { t, t } end
	return #json.encode(t)
end
