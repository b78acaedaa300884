-- fraud.lua: every capability once, a secret in a header, a random number.
return function(event, ctx)
	local n = kv.get("payments:" .. event.user)
	local key = secrets.get("stripe_key")
	local t = time.now()
	log.info("user " .. event.user .. " has " .. tostring(n))
	local r = http.request{ method = "POST", url = "https://api.example/v1",
		headers = { Authorization = "Bearer " .. key } }
	return { n = n, lucky = math.random(1000), status = r.status, t = t }
end
