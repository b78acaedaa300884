-- attack: nests coroutine.close calls, each at the bottom of ~190 nested C calls (gsub callbacks): Lua restarts its C-call count at each close, so the real C stack would overflow
-- expect: runtime
-- message: C stack overflow
return function(event, ctx)
	local function deep(n, k)
		if n == 0 then return k() end
		string.gsub("a", ".", function() deep(n - 1, k) end)
	end
	local coro = false
	for i = 1, 64 do
		local previous = coro
		coro = coroutine.create(function()
			local cc <close> = setmetatable({}, { __close = function()
				deep(190, function()
					if previous then
						local ok, err = coroutine.close(previous)
						if not ok then error(err, 0) end
					end
				end)
			end })
			coroutine.yield()
		end)
		coroutine.resume(coro)
	end
	local ok, err = coroutine.close(coro)
	error(err, 0)
end
