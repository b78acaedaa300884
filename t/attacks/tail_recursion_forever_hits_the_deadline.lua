-- attack: endless proper tail calls, which use no stack
-- expect: timeout
-- args: --timeout 200ms
return function(event, ctx)
	local function f(n) return f(n + 1) end
	return f(1)
end
