-- attack: closes a coroutine whose __close loops after the deadline, and catches the result
-- expect: timeout
-- args: --timeout 200ms
return function(event, ctx)
	local co = coroutine.create(function()
		local x <close> = setmetatable({}, { __close = function() while true do end end })
		coroutine.yield()
	end)
	coroutine.resume(co)
	pcall(coroutine.close, co)
	pcall(function() while true do end end)
	return "carried on"
end
