-- attack: creates, resumes and abandons coroutines forever
-- expect: instructions
-- args: --instructions 300000
return function(event, ctx)
	while true do
		local co = coroutine.create(function(x) coroutine.yield(x) return x end)
		coroutine.resume(co, 1)
	end
end
