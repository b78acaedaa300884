-- hook.lua: logging is allowed to notify rules.
return function(event, ctx)
	log.warn("notified")
	return true
end
