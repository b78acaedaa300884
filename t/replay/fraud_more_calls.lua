-- fraud_more_calls.lua: the recorded calls, then one more.
return function(event, ctx)
	local n = kv.get("payments:" .. event.user)
	local key = secrets.get("stripe_key")
	local t = time.now()
	log.info("user " .. event.user .. " has " .. tostring(n))
	local r = http.request{ method = "POST", url = "https://api.example/v1",
		headers = { Authorization = "Bearer " .. key } }
	kv.set("payments:seen:" .. event.user, true)
	return { n = n, lucky = math.random(1000), status = r.status, t = t }
end
