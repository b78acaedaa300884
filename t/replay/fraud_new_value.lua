-- fraud_new_value.lua: the same calls, another result.
return function(event, ctx)
	local n = kv.get("payments:" .. event.user)
	local key = secrets.get("stripe_key")
	local t = time.now()
	log.info("user " .. event.user .. " has " .. tostring(n))
	local r = http.request{ method = "POST", url = "https://api.example/v1",
		headers = { Authorization = "Bearer " .. key } }
	return { n = n, lucky = math.random(1000), status = r.status + 1, t = t }
end
