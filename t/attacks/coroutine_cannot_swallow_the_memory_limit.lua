-- attack: hits the memory limit inside a coroutine and carries on outside it
-- expect: memory
-- args: --timeout 500ms
return function(event, ctx)
	local co = coroutine.create(function()
		local t = {}
		for i = 1, math.huge do t[i] = {} end
	end)
	local ok, err = coroutine.resume(co)
	co = nil
	collectgarbage()
	for i = 1, 1e6 do end
	return "carried on: " .. tostring(ok)
end
