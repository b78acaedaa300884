-- attack: to-be-closed variables whose __close loop forever once the memory error unwinds them
-- expect: memory
-- args: --timeout 500ms
return function(event, ctx)
	local forever = { __close = function() while true do end end }
	local ok = pcall(function()
		local a <close> = setmetatable({}, forever)
		local b <close> = setmetatable({}, forever)
		local t = {}
		for i = 1, math.huge do t[i] = {} end
	end)
	return "carried on"
end
