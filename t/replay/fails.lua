-- fails.lua: a denied call caught, then an error of its own.
return function(event, ctx)
	local ok, err = pcall(http.request, { url = "https://evil.example/" })
	log.warn("http: " .. tostring(err))
	error("no luck: " .. tostring(ok))
end
