-- attack: unbounded non-tail recursion, whose Lua stack outgrows the memory limit first
-- expect: memory
return function(event, ctx)
	local function f(n) return 1 + f(n + 1) end
	return f(1)
end
