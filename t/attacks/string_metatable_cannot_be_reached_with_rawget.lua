-- attack: treats what getmetatable("") returns as the metatable and writes to it
-- expect: runtime
-- message: bad argument #1 to 'rawset' \(table expected, got string\)
return function(event, ctx)
	rawset(getmetatable(""), "__index", function() return "pwned" end)
	return ("x").anything
end
