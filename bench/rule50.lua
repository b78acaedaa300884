-- 50 lines of a payments rule; bench/ times compiling it from text.
local limits = {
	default = { amount = 5000, daily = 20000 },
	gold = { amount = 20000, daily = 100000 },
	new = { amount = 500, daily = 1000 },
}
local risky = { XX = true, YY = true, ZZ = true }

local function tier_of(customer)
	if customer.age_days < 30 then
		return "new"
	end
	return limits[customer.tier] and customer.tier or "default"
end

local function velocity(history, now)
	local n, sum = 0, 0
	for _, t in ipairs(history) do
		if now - t.at < 86400 then
			n = n + 1
			sum = sum + t.amount
		end
	end
	return n, sum
end

return function(event, ctx)
	local c, p = event.customer, event.payment
	local tier = tier_of(c)
	local lim = limits[tier]
	local n, sum = velocity(c.history or {}, event.now)
	local score, reasons = 0, {}
	if p.amount > lim.amount then
		score = score + 40
		reasons[#reasons + 1] = "amount over " .. lim.amount
	end
	if sum + p.amount > lim.daily then
		score = score + 30
		reasons[#reasons + 1] = string.format("daily %d", sum + p.amount)
	end
	if n > 10 then
		score = score + 10 * (n - 10)
		reasons[#reasons + 1] = n .. " payments today"
	end
	if risky[p.country] and p.country ~= c.country then
		score = score + 25
		reasons[#reasons + 1] = "country " .. p.country
	end
	return { score = math.min(score, 100), tier = tier, reasons = reasons,
	    decision = score >= 60 and "review" or "accept" }
end
