-- Makes the capability calls its event lists, and returns their results.
return function(event, ctx)
	local out = {}
	for i, s in ipairs(event.steps) do
		if s.get then
			out[i] = http.request{ url = s.get }.status
		elseif s.post then
			local resp = http.request{ method = "POST", url = s.post,
				body = s.body, headers = { ["content-type"] = "text/plain" } }
			out[i] = resp.status .. " " .. resp.body
		elseif s.incr then
			out[i] = kv.incr(s.incr, s.by, s.ttl)
		elseif s.set then
			kv.set(s.set, s.value, s.ttl)
			out[i] = "set"
		elseif s.kget then
			local v = kv.get(s.kget)
			out[i] = v == nil and "missing" or v
		elseif s.del then
			out[i] = kv.del(s.del)
		elseif s.secret then
			out[i] = secrets.get(s.secret)
		elseif s.now then
			out[i] = time.now()
		end
	end
	return out
end
