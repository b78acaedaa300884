-- attack: unbounded non-tail recursion with memory to spare: Lua's own stack limit stops it
-- expect: runtime
-- args: --memory 64M
-- message: stack overflow
return function(event, ctx)
	local function f(n) return 1 + f(n + 1) end
	return f(1)
end
