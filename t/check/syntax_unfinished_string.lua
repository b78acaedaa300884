-- syntax_unfinished_string.lua
return function(event)
	return "abc
end
