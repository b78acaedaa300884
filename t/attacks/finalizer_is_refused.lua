-- attack: a __gc metamethod, which Lua runs with hooks off, beyond every limit but the worker's deadline
-- expect: runtime
-- message: __gc metamethods are not available in the sandbox
return function(event, ctx)
	setmetatable({}, { __gc = function() while true do end end })
	collectgarbage()
	return "escaped"
end
