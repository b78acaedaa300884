-- attack: fills a table with fresh strings forever
-- expect: memory
-- message: memory limit of 8388608 bytes exceeded
return function(event, ctx)
	local t = {}
	for i = 1, math.huge do t[i] = ("x"):rep(64) .. i end
end
