-- The discount rule, as the checkout's product owner specified it.
local discount = rule()

local function cart(tier, ...)
	local items = {}
	for i, price in ipairs{ ... } do
		items[i] = { sku = "sku" .. i, price = price, quantity = 1 }
	end
	return { cart_id = "c-1", customer = { id = 7, tier = tier },
		items = items }
end

describe("discount", function()
	it("gives nothing below 100", function()
		local r = discount(cart("silver", 40, 59.99))
		expect(r).to_succeed()
		expect(r.value).to_equal{ cart_id = "c-1", percent = 0, discount = 0 }
	end)

	it("gives 5%, 10% and 15% from 100, 200 and 500", function()
		expect(discount(cart("silver", 100)).value.percent).to_be(5)
		expect(discount(cart("silver", 150, 50)).value.percent).to_be(10)
		expect(discount(cart("silver", 500)).value.percent).to_be(15)
	end)

	it("gives gold customers 5 points more", function()
		local r = discount(cart("gold", 250))
		expect(r.value.percent).to_be(15)
		expect(r.value.discount).to_be_close_to(37.5)
	end)

	it("logs the subtotal it worked from", function()
		local r = discount(cart("silver", 12.5, 12.5))
		expect(r.log).to_equal{ "cart c-1: subtotal 25.00, 0% off" }
	end)

	it("refuses a cart without items", function()
		local r = discount{ cart_id = "c-2", customer = { tier = "gold" } }
		expect(r).to_fail_with("runtime", "cart c%-2 has no items")
	end)

	it("stays cheap on a large cart", function()
		local prices = {}
		for i = 1, 200 do prices[i] = i end
		local r = discount(cart("gold", table.unpack(prices)))
		expect(r.value.percent).to_be(20)
		expect_usage(r, { instructions = 20000, memory = "1M" })
	end)
end)
