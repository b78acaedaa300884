-- attack: metamethods called by the VM and by C functions (tostring, sort, gsub) look for the removed functions
-- expect: ok
-- result: ["nil","nil","nil","nil","nil"]
return function(event, ctx)
	local seen = {}
	local function look() seen[#seen + 1] = type(debug or io or os or load or require) end
	local mt = {
		__index = function() look() end,
		__add = function() look() return 0 end,
		__tostring = function() look() return "t" end,
		__lt = function() look() return false end,
	}
	local a, b = setmetatable({}, mt), setmetatable({}, mt)
	local _ = a.x, a + b, tostring(a)
	table.sort({ a, b })
	string.gsub("x", "x", function() look() end)
	return seen
end
