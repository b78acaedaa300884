-- The rate limiter against the kv store of the test, on a clock that moves
-- only when the test moves it.
local limiter = rule()

local function request(client)
	return limiter{ client = client, path = "/v1/orders" }
end

describe("rate limiter", function()
	it("lets five requests through in a minute, then refuses", function()
		for i = 1, 5 do
			local r = request("acme")
			expect(r.value).to_equal{ allowed = true, remaining = 5 - i }
		end
		local r = request("acme")
		expect(r.value.allowed).to_be(false)
		expect(r.log).to_equal{ "[warn] rate limited" }
	end)

	it("counts each client on its own", function()
		mock.kv{ ["ratelimit:acme"] = 5 }
		expect(request("acme").value.allowed).to_be(false)
		expect(request("globex").value.allowed).to_be(true)
	end)

	it("opens a new window when the minute is over", function()
		for _ = 1, 6 do request("acme") end
		mock.time.advance(59)
		expect(request("acme").value.allowed).to_be(false)
		mock.time.advance(1)
		expect(request("acme").value).to_equal{ allowed = true, remaining = 4 }
	end)

	it("keeps its counter under its own prefix, with the window as ttl", function()
		local r = request("acme")
		expect_calls(r, {
			{ call = "kv.incr", key = "ratelimit:acme", by = 1, ttl = 60000 },
		})
		expect(mock.kv.get("ratelimit:acme")).to_be(1)
	end)
end)
