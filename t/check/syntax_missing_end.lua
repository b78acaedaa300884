-- syntax_missing_end.lua
return function(event)
	if event then
		return 1
end
