-- attack: catches the deadline error with pcall, again and again, in a loop
-- expect: timeout
-- args: --timeout 200ms
return function(event, ctx)
	for i = 1, math.huge do
		pcall(function() while true do end end)
	end
end
