-- attack: raises an error object whose __tostring never returns, for the host to print
-- expect: runtime
-- args: --timeout 200ms
-- message: \(error object is a table value\)
return function(event, ctx)
	error(setmetatable({}, { __tostring = function() while true do end end }))
end
