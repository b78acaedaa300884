-- writes: the limits' state: it hits the memory limit while holding everything
-- expect: memory
return function(event, ctx)
	HOLD = {}
	for i = 1, math.huge do HOLD[i] = ("x"):rep(100) .. i end
end
