-- A passing suite: nested describe blocks, hooks, every matcher, a skip.
local cart = rule()
local items

describe("cart", function()
	before_each(function()
		items = { { sku = "tea", price = 20, quantity = 1 } }
	end)

	describe("shipping", function()
		it("costs 4.50 under 50", function()
			local r = cart{ items = items }
			expect(r).to_succeed()
			expect(r.value.shipping).to_be(4.5)
			expect(r.value.total).to_be_close_to(24.5)
		end)

		it("is free from 50", function()
			items[1].quantity = 3
			expect(cart{ items = items }.value.shipping).to_be(0)
		end)
	end)

	it("names itself and its items", function()
		local r = cart{ items = items }
		expect(r.value).to_equal{ rule = "shop/cart", items = { "tea" },
			total = 24.5, shipping = 4.5 }
		expect(r.value.items).to_contain("tea")
		expect(r.value.items).not_.to_contain("coffee")
		expect(r.value.items).to_have_length(1)
		expect(r.value.rule).to_match("^shop/")
		expect(r.value.missing).to_be_nil()
		expect(r.ok).to_be_truthy()
		expect(r.value.missing).to_be_falsy()
		expect(r.value.total).to_be_greater_than(20)
		expect(r.value.total).to_be_less_than(25)
		expect(r.value.total):to_be_at_most(24.5)
		expect(r.log).to_equal{ "cart total\t20" }
		expect(r.calls).to_equal{}
		expect_calls(r, {})
		expect_usage(r, { instructions = 10000, memory = "1M", time = "500ms",
			calls = 0 })
	end)

	it("fails on a cart without items", function()
		expect(cart{}).to_fail_with("runtime", "cart%.lua:4")
	end)

	it.skip("applies coupons", function() end)
end)

test("a test outside describe", function()
	expect({ 1, { 2, 3 } }).to_equal{ 1, { 2, 3 } }
end)
