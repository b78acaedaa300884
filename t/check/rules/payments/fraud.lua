-- fraud.lua: calls the policy allows, calls it never allows, and calls
-- whose arguments are not constants (never judged).
local base <const> = "https://api.stripe.com/v1/"
local cache = "payments:cache:"
return function(event, ctx)
	local charge = http.request{ method = "POST", url = base .. "charges" }
	local evil = http.request{ url = "https://evil.example/" }
	local wipe = http.request{ method = "DELETE", url = base .. "charges" }
	local any = http.request{ method = event.method, url = "https://evil.example/x" }
	local seen = kv.get("payments:" .. event.id)
	local other = kv.get("other:" .. event.id)
	kv.set(cache .. event.id, true)
	kv.set("payments:seen", true)
	kv.incr("pay" .. event.id)
	local key = secrets.get("stripe_key")
	local aws = secrets.get("aws_key")
	log.info("checked")
	local free = http.request{ url = event.url }
	local k = kv.get(event.key)
	return { charge, evil, wipe, any, seen, other, key, aws, free, k }
end
