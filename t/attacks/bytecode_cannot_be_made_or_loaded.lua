-- attack: dumps a function to bytecode and loads it back, by every name for dump and load
-- expect: runtime
-- message: attempt to call a nil value
return function(event, ctx)
	local dump = string.dump or ("").dump
	local loader = load or loadstring or _G.load or _ENV.loadstring
	return loader(dump(function() return 1 end), "=x", "b")()
end
