-- attack: adds __gc to a metatable after setmetatable, then collects (and leaves some for lua_close)
-- expect: ok
-- result: "no finalizer ran"
local ran = false
return function(event, ctx)
	local mt = {}
	for i = 1, 100 do setmetatable({}, mt) end
	_G.keep = setmetatable({}, mt)		-- alive until the state closes
	mt.__gc = function() ran = true while true do end end
	collectgarbage()
	collectgarbage()
	return ran and "a finalizer ran" or "no finalizer ran"
end
