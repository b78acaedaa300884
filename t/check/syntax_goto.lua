-- syntax_goto.lua: a goto without its label, found where the block ends
return function(event)
	if event then
		goto nowhere
	end
end
