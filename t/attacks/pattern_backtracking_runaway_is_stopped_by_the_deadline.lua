-- attack: a string.find whose backtracking takes seconds inside C, where no hook fires
-- expect: timeout
-- args: --timeout 200ms
-- runaway: c
return function(event, ctx)
	return string.find(("a"):rep(130), ".-.-.-.-x")
end
