-- Verify a webhook's signature before acting on it: the sender signs the
-- body with HMAC-SHA256 under a shared key and sends the hex digest.
-- (With the broker, the key comes from secrets.get; here it is in the event.)
return function(event, ctx)
	local expected = crypto.hmac_sha256(event.key, event.body)
	if not crypto.equal(expected, event.signature) then
		return { accepted = false, reason = "bad signature" }
	end
	local payload = json.decode(event.body)
	return { accepted = true, type = payload.type, id = payload.id }
end
