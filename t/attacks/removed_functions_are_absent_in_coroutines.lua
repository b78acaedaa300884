-- attack: looks for the removed functions from inside a coroutine and through its environment
-- expect: ok
-- result: {"debug":"nil","io":"nil","load":"nil","os":"nil","require":"nil","same_env":true}
return function(event, ctx)
	local co = coroutine.wrap(function()
		local env = _ENV
		coroutine.yield({ debug = type(debug), io = type(io),
		    load = type(load), os = type(os), require = type(require),
		    same_env = env == _G })
	end)
	return co()
end
