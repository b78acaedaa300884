-- The webhook check, with the shared key given as a mocked secret and the
-- sender's signature computed here as the sender computes it.
local webhook = rule()
local KEY = "whsec_example"

local function delivery(body, key)
	return { body = body, signature = crypto.hmac_sha256(key or KEY, body) }
end

describe("webhook", function()
	before_each(function()
		mock.secrets{ webhook_key = KEY }
	end)

	it("accepts a delivery signed with the shared key", function()
		local r = webhook(delivery('{"type":"invoice.paid","id":"in_1"}'))
		expect(r.value).to_equal{ accepted = true, type = "invoice.paid",
			id = "in_1" }
	end)

	it("refuses a delivery signed with another key", function()
		local r = webhook(delivery('{"type":"invoice.paid"}', "whsec_other"))
		expect(r.value).to_equal{ accepted = false, reason = "bad signature" }
	end)

	it("refuses a body changed after signing", function()
		local d = delivery('{"type":"invoice.paid","amount":10}')
		d.body = '{"type":"invoice.paid","amount":1000}'
		expect(webhook(d).value.accepted).to_be(false)
	end)

	it("reads the key from the secrets, and only that", function()
		local r = webhook(delivery("{}"))
		expect_calls(r, { { call = "secrets.get", name = "webhook_key" } })
	end)
end)
