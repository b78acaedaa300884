-- attack: stops the collector or switches it to generational mode (a path to a known Lua 5.4.4 GC bug)
-- expect: ok
-- result: {"collect":0,"count":"number","generational":false,"incremental":false,"isrunning":true,"setpause":false,"stop":false}
return function(event, ctx)
	local r = {}
	for _, opt in ipairs{ "stop", "generational", "incremental", "setpause" } do
		r[opt] = (pcall(collectgarbage, opt))
	end
	r.collect = collectgarbage("collect")
	r.count = type(collectgarbage("count"))
	r.isrunning = collectgarbage("isrunning")
	return r
end
