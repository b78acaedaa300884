-- Verify a webhook's signature before acting on it: the sender signs the
-- body with HMAC-SHA256 under a key shared with us and sends the hex
-- digest. The key is a secret: the rule gets it from the broker, and the
-- policy grants this rule that one secret only.
return function(event, ctx)
	local key = secrets.get("webhook_key")
	local expected = crypto.hmac_sha256(key, event.body)
	if not crypto.equal(expected, event.signature) then
		return { accepted = false, reason = "bad signature" }
	end
	local payload = json.decode(event.body)
	return { accepted = true, type = payload.type, id = payload.id }
end
