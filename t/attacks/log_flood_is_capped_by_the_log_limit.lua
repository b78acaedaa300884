-- attack: prints far more than the log limit
-- expect: ok
-- args: --log-limit 4K
-- result: "done"
-- log-bytes-at-most: 4096
-- log-dropped: yes
return function(event, ctx)
	for i = 1, 2000 do print(("x"):rep(100), i) end
	return "done"
end
