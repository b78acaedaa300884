-- writes: math.random's state (a fixed seed); returns the numbers its own fresh state drew first
-- expect: ok
return function(event, ctx)
	local first = { math.random(1 << 50), math.random(1 << 50), math.random(1 << 50) }
	math.randomseed(42)
	return { first = first }
end
