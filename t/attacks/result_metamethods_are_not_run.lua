-- attack: returns a table whose __pairs, __index and __len never return, for the host to convert
-- expect: ok
-- args: --timeout 200ms
-- result: {"a":1}
return function(event, ctx)
	local loop = function() while true do end end
	return setmetatable({ a = 1 }, { __pairs = loop, __index = loop, __len = loop })
end
