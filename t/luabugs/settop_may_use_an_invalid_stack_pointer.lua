-- bug: 'lua_settop' may use an invalid pointer to stack (5.4.4): a C function dropping a to-be-closed slot whose __close moves the stack
-- reachable: no, as far as a rule goes: only C code marks slots to-be-closed (lua_toclose), and the only such slots a rule reaches are the luaL_Buffer boxes of Lua's own library functions, whose __close is C; this rule drives those boxes near a Lua stack that must grow, with Lua __close variables pending around them
-- expect: ok
-- result: {"closed":150,"lengths":true}
return function(event, ctx)
	local closed, lengths = 0, true
	local mt = { __close = function() closed = closed + 1 end }
	local function deep(n)
		if n == 0 then return end
		local x <close> = setmetatable({}, mt)
		local s = table.concat({ ("a"):rep(3000), ("b"):rep(3000) }, ",", 1, 2)
		local g = s:gsub("a", "cc", 2000)
		local f = string.format("%s%s", s, ("d"):rep(3000, ""))
		lengths = lengths and #s == 6001 and #g == 8001 and #f == 9001
		return deep(n - 1) or nil	-- not a tail call: the stack grows
	end
	deep(150)
	return { closed = closed, lengths = lengths }
end
