-- A fraud score for a card payment: what a payments platform asks before
-- it authorises one. The risk service knows the country a card is used in
-- and its chargebacks; the rule weighs that with the payment itself. When
-- the service cannot answer, the payment goes to review rather than
-- through: a missing signal is not a good one.
local RISK = "https://risk.example/v1/cards/"
local REVIEW_FROM = 60

-- What the risk service says of a card, or nil when it cannot say.
local function risk_of(card)
	local ok, resp = pcall(http.request, {
		url = RISK .. card,
		headers = { accept = "application/json" },
		timeout = 300,
	})
	if not ok or resp.status ~= 200 then
		return nil
	end
	return json.decode(resp.body)
end

return function(event, ctx)
	local score, reasons = 0, {}
	local function add(points, why)
		score = score + points
		reasons[#reasons + 1] = why
	end

	if event.amount >= 1000 then
		add(20, "large amount")
	end
	local risk = risk_of(event.card)
	if risk == nil then
		add(REVIEW_FROM, "risk service unavailable")
	else
		if risk.country ~= event.country then
			add(50, "card used abroad")
		end
		if (risk.chargebacks or 0) > 0 then
			add(15 * risk.chargebacks, "chargebacks")
		end
	end
	score = math.min(score, 100)
	return {
		score = score,
		decision = score >= REVIEW_FROM and "review" or "accept",
		reasons = reasons,
	}
end
