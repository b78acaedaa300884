local order = rule()

it("prices every item", function()
	local r = order{}
	expect(r.value).to_equal{ items = { { price = 10 }, { price = 11 },
		{ price = 10 } }, status = "open" }
end)

it("is closed", function()
	expect(order{}.value.status).to_be("closed")
end)

it("reports every difference", function()
	expect(order{}.value).to_equal{ items = {}, status = "paid", extra = true }
end)

it("passes", function()
	expect(order{}.value.status).to_be("open")
end)

it("uses a matcher that does not exist", function()
	expect(1).to_bee(1)
end)

it("reads the value of a failed invocation", function()
	local r = order(nil, { memory = "1K" })
	expect(r.value.status).to_be("open")
end)
