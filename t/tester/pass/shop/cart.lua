-- The total of a cart, its items and a shipping fee under 50.
return function(event, ctx)
	local total, items = 0, {}
	for i, item in ipairs(event.items) do
		total = total + item.price * item.quantity
		items[i] = item.sku
	end
	local shipping = total < 50 and 4.5 or 0
	print("cart total", total)
	return { rule = ctx.rule, items = items, total = total + shipping,
		shipping = shipping }
end
