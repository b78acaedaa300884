-- A known file for coverage: which lines run is counted by hand.
local function sign(x)
	if x < 0 then
		return "negative"
	elseif x == 0 then
		return "zero"
	end
	return "positive"
end

local function unused()
	return "never"
end

return function(event, ctx)
	return sign(event.x)
end
