-- attack: an xpcall message handler looks for debug.traceback and the other removed functions
-- expect: ok
-- result: {"args":1,"debug":"nil","load":"nil","message":"boom"}
return function(event, ctx)
	local seen
	xpcall(function() error("boom", 0) end, function(...)
		seen = { args = select("#", ...), message = (...),
		    debug = type(debug), load = type(load) }
		return seen
	end)
	return seen
end
