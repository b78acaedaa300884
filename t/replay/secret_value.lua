-- secret_value.lua: what the rule computes from a secret's value.
return function(event, ctx)
	local key = secrets.get("stripe_key")
	return { length = #key, live = key:sub(1, 8) == "sk_live_" }
end
