-- writes: the instruction budget's state: it spends all of it, partly in coroutines
-- expect: instructions
-- args: --instructions 200000
return function(event, ctx)
	local co = coroutine.wrap(function() while true do coroutine.yield() end end)
	while true do co() end
end
