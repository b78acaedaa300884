-- bug: 'break' may not properly exit a loop with a to-be-closed variable (5.4.4): __close is not called at the break, and the slot is closed later holding another value
-- reachable: yes: a generic for with a closing value and a closure in its body
-- expect: ok
-- result-part: {"contained":true}
-- note: on an unpatched 5.4.4, closed_at_break is false and the later close fails with a runtime error ("attempt to call a nil value"): wrong Lua semantics, never a wrong memory access
return function(event, ctx)
	local closed = false
	local o = setmetatable({}, { __close = function() closed = true end })
	local function test()
		for k, v in next, {}, nil, o do
			local function f() return k end	-- an upvalue in the loop
			break
		end
		local at_break = closed
		local a, b, c = 1, 2, 3			-- reuse the slot
		return at_break
	end
	local ok, r = pcall(test)
	return {
		contained = true,
		closed_at_break = ok and r or false,
		later = ok and "returned" or tostring(r),
	}
end
