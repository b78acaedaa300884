-- writes: objects whose __close or __gc would run later: pending to-be-closed variables in suspended and dead coroutines, a late __gc, all left in globals
-- expect: ok
return function(event, ctx)
	local forever = function() print("writer's code ran late") while true do end end
	local mt = { __close = forever }
	KEEP = {}
	for i = 1, 3 do
		local co = coroutine.create(function()
			local x <close> = setmetatable({}, mt)
			coroutine.yield()
		end)
		coroutine.resume(co)
		KEEP[#KEEP + 1] = co		-- suspended, never closed
	end
	local dead = coroutine.create(function()
		local x <close> = setmetatable({}, mt)
		error("dies with a pending close")
	end)
	coroutine.resume(dead)
	KEEP[#KEEP + 1] = dead
	local gcmt = {}
	KEEP[#KEEP + 1] = setmetatable({}, gcmt)
	gcmt.__gc = forever			-- too late to mark it for finalizing
	KEEP[#KEEP + 1] = pcall(setmetatable, {}, { __gc = forever })
	return "written"
end
