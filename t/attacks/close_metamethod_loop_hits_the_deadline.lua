-- attack: a __close metamethod that never returns
-- expect: timeout
-- args: --timeout 200ms
return function(event, ctx)
	local x <close> = setmetatable({}, { __close = function() while true do end end })
	return 1
end
