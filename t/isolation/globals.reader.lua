-- reads: globals and base functions, as a fresh state has them
-- result: {"secret":"nil","missing":"nil","tostring":"1","pairs":"function","g_meta":"nil"}
return function(event, ctx)
	print("reader's own line")
	return {
		secret = type(SECRET),
		missing = type(UNDEFINED_NAME),
		tostring = tostring(1),
		pairs = type(pairs),
		g_meta = type(getmetatable(_G)),
	}
end
