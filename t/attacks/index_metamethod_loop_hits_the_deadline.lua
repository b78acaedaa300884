-- attack: an __index metamethod that never returns
-- expect: timeout
-- args: --timeout 200ms
return function(event, ctx)
	local t = setmetatable({}, { __index = function() while true do end end })
	return t.x
end
