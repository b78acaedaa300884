-- attack: replaces the metatable of strings
-- expect: runtime
-- message: bad argument #1 to 'setmetatable' \(table expected, got string\)
return function(event, ctx)
	setmetatable("", { __index = function() return "pwned" end })
	return ("x").anything
end
