-- attack: a gsub callback that pcalls the loop and lets gsub go on to the next match
-- expect: instructions
-- args: --instructions 100000
return function(event, ctx)
	return (("x"):rep(1000):gsub(".", function()
		pcall(function() while true do end end)
		return "y"
	end))
end
