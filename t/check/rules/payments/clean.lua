-- clean.lua: every call allowed.
return function(event, ctx)
	local r = http.request{ url = "https://api.stripe.com/v1/balance" }
	return { r, kv.get("payments:" .. event.id), secrets.get("stripe_key") }
end
