-- attack: a __lt metamethod that compares again, recursing through the VM and C
-- expect: runtime
-- args: --memory 64M
-- message: stack overflow
return function(event, ctx)
	local mt = {}
	mt.__lt = function(a, b) return a < b end
	local x, y = setmetatable({}, mt), setmetatable({}, mt)
	return x < y
end
