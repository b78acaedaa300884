-- bug: C-stack overflow with deep nesting of coroutine.close (5.4.4): each nested close restarts Lua's count of C calls
-- reachable: yes: coroutine.close inside __close; the sandbox's coroutine.close bounds the nesting and the C stack it starts at
-- expect: ok
-- result-part: {"closed":false,"bounded":true}
return function(event, ctx)
	local coro = false
	for i = 1, 1000 do
		local previous = coro
		coro = coroutine.create(function()
			local cc <close> = setmetatable({}, { __close = function()
				if previous then assert(coroutine.close(previous)) end
			end })
			coroutine.yield()
		end)
		assert(coroutine.resume(coro))
	end
	local st, msg = coroutine.close(coro)
	return {
		closed = st,
		bounded = tostring(msg):find("too many nested coroutine.close calls")
		    ~= nil or tostring(msg):find("C stack overflow") ~= nil,
		message = tostring(msg):sub(1, 200),
	}
end
