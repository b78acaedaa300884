-- fraud_new_call.lua: its first call asks for another key.
return function(event, ctx)
	local n = kv.get("pay:" .. event.user)
	local key = secrets.get("stripe_key")
	local t = time.now()
	log.info("user " .. event.user .. " has " .. tostring(n))
	local r = http.request{ method = "POST", url = "https://api.example/v1",
		headers = { Authorization = "Bearer " .. key } }
	return { n = n, lucky = math.random(1000), status = r.status, t = t }
end
