-- writes: the string methods every string shares through its metatable
-- expect: ok
return function(event, ctx)
	local assigned = pcall(function() local s = "" s.upper = print end)
	string.upper = function() return "pwned" end	-- what ("").upper finds
	string.len = function() return -1 end
	string.__index = function() return "pwned" end
	string.evil = function() return "pwned" end
	return { assigned, ("x"):upper(), ("x"):evil() }
end
