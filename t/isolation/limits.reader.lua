-- reads: most of the memory limit (5 MB of its 8) and a quick loop, with no limit still marked hit
-- result: {"bytes":5000000,"loop":500000500000}
return function(event, ctx)
	local t, bytes = {}, 0
	for i = 1, 50 do t[i] = ("x"):rep(99999) .. "y" bytes = bytes + #t[i] end
	local n = 0
	for i = 1, 1000000 do n = n + i end
	return { bytes = bytes, loop = n }
end
