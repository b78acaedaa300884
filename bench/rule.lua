-- The rule workload of bench/: a payments decision over the 20 fields of
-- rule-event.json, with comparisons and string operations, as a rule is
-- written. It returns its decision as one string, "decision:score:reasons",
-- so that the Redis translation (redis/rule.lua) returns the same bytes.
local risky_mcc = { ["5967"] = true, ["7995"] = true, ["5816"] = true }
local free_mail = { ["gmail.com"] = true, ["yahoo.com"] = true,
	["example.com"] = true }
local limits = { EUR = 1000, USD = 1100, GBP = 900 }

return function(e, ctx)
	local score, reasons = 0, {}
	local function flag(points, why)
		score = score + points
		reasons[#reasons + 1] = why
	end
	local limit = limits[e.currency] or 500
	if e.amount > limit then flag(20, "amount>" .. limit) end
	if e.txn_sum_24h + e.amount > 4 * limit then flag(15, "daily") end
	if e.txn_count_24h >= 5 then flag(3 * (e.txn_count_24h - 4), "velocity") end
	if e.country ~= e.card_country then flag(10, "card:" .. e.card_country) end
	if e.ip_country ~= e.country then flag(10, "ip:" .. e.ip_country) end
	local email = string.lower(e.email)
	local user, domain = string.match(email, "^([^@]+)@(.+)$")
	if not domain then
		flag(30, "email")
	else
		if free_mail[domain] then flag(5, "free-mail") end
		if string.find(user, "+", 1, true) then flag(5, "alias") end
	end
	if not e.email_verified then flag(5, "unverified") end
	if e.account_age_days < 30 then
		flag(math.floor((30 - e.account_age_days) / 3), "new")
	end
	if risky_mcc[e.merchant_category] then flag(15, "mcc:" .. e.merchant_category) end
	if string.sub(e.merchant_id, 1, 2) ~= "m_" then flag(10, "merchant") end
	if not e.device_trusted then flag(5, "device") end
	if #e.device_id < 8 then flag(5, "device-id") end
	if string.sub(e.billing_zip, 1, 2) ~= string.sub(e.shipping_zip, 1, 2) then
		flag(8, "zip")
	end
	if string.find(string.lower(e.user_agent), "headless", 1, true) then
		flag(25, "bot")
	end
	if e.hour < 6 then flag(4, "night") end
	if not e.three_ds and e.amount > 500 then flag(10, "no-3ds") end
	if string.sub(e.card_bin, 1, 1) == "4" and e.card_country == "US" then
		score = score - 2
	end
	local decision = score >= 80 and "deny" or score >= 40 and "review" or "accept"
	return decision .. ":" .. score .. ":" .. table.concat(reasons, ",")
end
