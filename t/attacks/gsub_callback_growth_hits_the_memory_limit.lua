-- attack: a string.gsub replacement function that returns ever larger strings
-- expect: memory
return function(event, ctx)
	local s = ("x"):rep(10000)
	local big = "y"
	return (s:gsub(".", function() big = big .. big return big end))
end
