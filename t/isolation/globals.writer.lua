-- writes: globals, and replaces base functions in _G and _ENV
-- expect: ok
return function(event, ctx)
	SECRET = "tenant A's secret"
	_G.print = function() end
	_ENV.tostring = function() return "hijacked" end
	rawset(_G, "pairs", nil)
	setmetatable(_G, { __index = function(_, k) return "from writer: " .. k end })
	return "written"
end
