-- writes: the log: far more than the log limit
-- expect: ok
return function(event, ctx)
	for i = 1, 5000 do print(("w"):rep(100)) end
	return "written"
end
