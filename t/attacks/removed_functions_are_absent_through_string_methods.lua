-- attack: reaches string.dump and the string table through methods of a string value
-- expect: ok
-- result: {"dump":"nil","metatable":"string","rep":"function","index":"nil"}
return function(event, ctx)
	local s = "x"
	return {
		dump = type(s.dump),			-- no dump method
		rep = type(s.rep),			-- methods still work
		metatable = getmetatable(s),		-- a string, not the table
		index = type(("string").__index),	-- the name is no table
	}
end
