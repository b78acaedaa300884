-- Fetches each URL of its event; a call that fails is counted, not fatal.
return function(event, ctx)
	local ok, failed = 0, {}
	for _, url in ipairs(event.urls) do
		local good, err = pcall(http.request, { url = url })
		if good then ok = ok + 1 else failed[#failed + 1] = err.kind end
	end
	return { ok = ok, failed = failed }
end
