-- attack: catches the budget error with pcall and keeps working
-- expect: instructions
-- args: --instructions 100000
return function(event, ctx)
	pcall(function() while true do end end)
	local n = 0
	for i = 1, 10 do n = n + i end
	return n
end
