-- attack: one string.rep that fits a large memory limit but copies for seconds inside C
-- expect: timeout
-- args: --timeout 200ms --memory 600M
-- runaway: c
return function(event, ctx)
	return #("x"):rep(2.8e8)
end
