-- random.lua: math.random before and after a reseed without arguments.
return function(event, ctx)
	local a = { math.random(1 << 40), math.random(), math.random(6) }
	math.randomseed()
	local b = { math.random(1 << 40), math.random(1 << 40) }
	return { a = a, b = b }
end
