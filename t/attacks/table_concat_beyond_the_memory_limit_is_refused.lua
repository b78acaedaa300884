-- attack: table.concat of many copies of a long string
-- expect: memory
return function(event, ctx)
	local s = ("x"):rep(100000)
	local t = {}
	for i = 1, 60 do t[i] = s end
	return #table.concat(t, s)
end
