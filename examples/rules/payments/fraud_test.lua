-- The fraud score against a risk service that is mocked: every answer it
-- can give, and its silence.
local fraud = rule()
local RISK = "https://risk.example/v1/cards/"

local function payment(amount)
	return { card = "tok_4111", country = "US", amount = amount or 80 }
end

describe("fraud score", function()
	it("accepts a card used at home", function()
		mock.http{ method = "GET", url = RISK .. "*", status = 200,
			json = { country = "US", chargebacks = 0 } }
		local r = fraud(payment())
		expect(r.value).to_equal{ score = 0, decision = "accept", reasons = {} }
	end)

	it("flags a card used abroad for review", function()
		mock.http{ method = "GET", url = RISK .. "*", status = 200,
			json = { country = "FR", chargebacks = 0 } }
		local r = fraud(payment(1200))
		expect(r.value.score).to_be_greater_than(60)
		expect(r.value.decision).to_be("review")
		expect(r.value.reasons).to_contain("card used abroad")
	end)

	it("asks the risk service about the card, once", function()
		mock.http{ method = "GET", url = RISK .. "tok_4111", status = 200,
			json = { country = "US" } }
		local r = fraud(payment())
		expect_calls(r, {
			{ call = "http.request", method = "GET", url = RISK .. "tok_4111",
			  headers = { accept = "application/json" } },
		})
	end)

	it("weighs chargebacks", function()
		mock.http{ url = RISK .. "*", json = { country = "US", chargebacks = 2 } }
		expect(fraud(payment()).value.score).to_be(30)
	end)

	it("sends the payment to review when the risk service times out", function()
		mock.http{ url = RISK .. "*", error = "timeout",
			message = "timed out after 300 ms" }
		local r = fraud(payment())
		expect(r.value.decision).to_be("review")
		expect(r.value.reasons).to_equal{ "risk service unavailable" }
		expect(r.calls[1].error.kind).to_be("timeout")
	end)

	it("sends the payment to review when the risk service fails", function()
		mock.http{ url = RISK .. "*", status = 503, body = "unavailable" }
		expect(fraud(payment()).value.decision).to_be("review")
	end)

	it("stays within a production budget", function()
		mock.http{ url = RISK .. "*", json = { country = "FR", chargebacks = 1 } }
		expect_usage(fraud(payment(5000)), { instructions = 1e5, memory = "2M" })
	end)
end)
