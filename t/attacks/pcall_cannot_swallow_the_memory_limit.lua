-- attack: catches the memory error with pcall, frees everything and carries on
-- expect: memory
-- args: --timeout 500ms
return function(event, ctx)
	local ok = pcall(function()
		local t = {}
		for i = 1, math.huge do t[i] = {} end
	end)
	collectgarbage()
	local n = 0
	for i = 1, 1e6 do n = n + i end		-- pure computation, no allocation
	return "carried on after " .. tostring(ok)
end
