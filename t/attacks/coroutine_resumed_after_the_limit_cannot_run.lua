-- attack: after the budget runs out in one coroutine, resumes a fresh one that loops
-- expect: instructions
-- args: --instructions 100000
return function(event, ctx)
	pcall(coroutine.wrap(function() while true do end end))
	local other = coroutine.create(function() while true do end end)
	local ok, err = coroutine.resume(other)
	return "ran on: " .. tostring(err)
end
