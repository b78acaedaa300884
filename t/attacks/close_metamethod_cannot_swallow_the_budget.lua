-- attack: a __close that catches the pending budget error with pcall and keeps computing
-- expect: instructions
-- args: --instructions 100000
return function(event, ctx)
	local ok = pcall(function()
		local x <close> = setmetatable({}, { __close = function()
			pcall(function() end)
			local n = 0
			for i = 1, 1e7 do n = n + i end
		end })
		while true do end
	end)
	return "carried on"
end
