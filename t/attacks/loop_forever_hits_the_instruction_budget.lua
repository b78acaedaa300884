-- attack: an endless loop under an instruction budget
-- expect: instructions
-- args: --instructions 100000
-- message: instruction budget of 100000 exhausted
return function(event, ctx)
	local n = 0
	while true do n = n + 1 end
end
