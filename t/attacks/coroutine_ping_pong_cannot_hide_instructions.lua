-- attack: spends the budget a little in each of two coroutines that take turns on the CPU
-- expect: instructions
-- args: --instructions 500000
-- message: instruction budget of 500000 exhausted
return function(event, ctx)
	local function spin() while true do for i = 1, 10 do end coroutine.yield() end end
	local a, b = coroutine.wrap(spin), coroutine.wrap(spin)
	while true do a() b() end
end
