-- attack: writes a __gc into LPeg's pattern metatable so every pattern runs rule code with hooks off
-- expect: runtime
-- message: attempt to index a string value
return function(event, ctx)
	local mt = getmetatable(lpeg.P(1))
	mt.__gc = function() while true do end end
	return "escaped"
end
