-- A discount rule: what a checkout platform asks at its "price" extension
-- point. The event is the cart; the result is the discount to apply.
local tiers = {
	{ min = 500, percent = 15 },
	{ min = 200, percent = 10 },
	{ min = 100, percent = 5 },
}

local function subtotal(items)
	local sum = 0
	for _, item in ipairs(items) do
		sum = sum + item.price * item.quantity
	end
	return sum
end

return function(event, ctx)
	if type(event.items) ~= "table" then
		error("cart " .. tostring(event.cart_id) .. " has no items", 0)
	end
	local total = subtotal(event.items)
	local percent = 0
	for _, tier in ipairs(tiers) do
		if total >= tier.min then
			percent = tier.percent
			break
		end
	end
	if event.customer.tier == "gold" then
		percent = percent + 5
	end
	print(string.format("cart %s: subtotal %.2f, %d%% off",
	    event.cart_id, total, percent))
	return {
		cart_id = event.cart_id,
		percent = percent,
		discount = math.floor(total * percent) / 100,
	}
end
