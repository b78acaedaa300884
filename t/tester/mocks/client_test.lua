-- Mocks: http by method and URL glob, the kv store, secrets, the clock.
-- Tests named "fails: ..." are meant to fail.
local client = rule()

local function run(...)
	return client{ steps = { ... } }
end

describe("http", function()
	it("answers by method and URL glob, in declaration order", function()
		mock.http{ method = "GET", url = "https://api.example/v1/*", status = 201,
			times = 1 }
		mock.http{ method = "GET", url = "https://api.example/v1/*", status = 202 }
		mock.http{ method = "POST", url = "https://api.example/*",
			body = "stored" }
		local r = run({ get = "https://api.example/v1/a" },
			{ get = "https://API.example/v1/b?x=1#frag" },
			{ post = "https://api.example/v2/c", body = "hello" })
		expect(r.value).to_equal{ 201, 202, "200 stored" }
		expect_calls(r, {
			{ call = "http.request", method = "GET",
			  url = "https://api.example/v1/a" },
			{ url = "https://api.example/v1/b?x=1" },
			{ method = "POST", body = "hello",
			  headers = { ["content-type"] = "text/plain" } },
		})
	end)

	it("answers with a failure of the kind asked for", function()
		mock.http{ url = "https://api.example/*", error = "timeout" }
		local r = run({ get = "https://api.example/slow" })
		expect(r).to_fail_with("timeout", "https://api.example/slow")
	end)

	it("fails: a mock never called", function()
		mock.http{ url = "https://api.example/*" }
		mock.http{ method = "DELETE", url = "https://api.example/*" }
		run({ get = "https://api.example/a" })
	end)

	it("lets an optional mock go unused", function()
		mock.http{ url = "https://api.example/*", optional = true }
	end)

	it("fails: a call no mock answers", function()
		mock.http{ url = "https://api.example/v1/*" }
		run({ get = "https://api.example/v1/a" }, { get = "https://api.example/v2/b" })
	end)

	it("fails: a mock called fewer times than it says", function()
		mock.http{ url = "https://api.example/*", times = 2 }
		run({ get = "https://api.example/a" })
	end)
end)

describe("kv", function()
	it("counts from a missing key, with a ttl only when it creates the key", function()
		expect(run({ incr = "k:n" }, { incr = "k:n", by = 4, ttl = 1000 }).value)
			.to_equal{ 1, 5 }
		mock.time.advance(3600)
		expect(mock.kv.get("k:n")).to_be(5)
	end)

	it("forgets a key when its ttl ends", function()
		run({ incr = "k:n", ttl = 60000 })
		mock.time.advance(59)
		expect(run({ kget = "k:n" }).value).to_equal{ 1 }
		mock.time.advance(1)
		expect(run({ kget = "k:n" }).value).to_equal{ "missing" }
	end)

	it("replaces a value and its expiry on set", function()
		mock.kv.set("k:s", "old", 1000)
		run({ set = "k:s", value = { a = 1 } })
		mock.time.advance(10)
		expect(mock.kv.get("k:s")).to_equal{ a = 1 }
	end)

	it("says whether del found the key", function()
		mock.kv{ ["k:d"] = true }
		expect(run({ del = "k:d" }, { del = "k:d" }).value).to_equal{ true, false }
	end)

	it("refuses to count what is not an integer", function()
		mock.kv{ ["k:s"] = "ten" }
		expect(run({ incr = "k:s" })).to_fail_with("runtime", "not an integer")
	end)

	it("starts empty in every test", function()
		expect(mock.kv.get("k:n")).to_be_nil()
	end)
end)

describe("secrets and the clock", function()
	it("gives the secrets and the time the test sets", function()
		mock.secrets{ api_key = "s3cret" }
		mock.time(1234.5)
		expect(run({ secret = "api_key" }, { now = true }).value)
			.to_equal{ "s3cret", 1234.5 }
	end)

	it("stands still at 1700000000 unless set", function()
		expect(run({ now = true }, { now = true }).value)
			.to_equal{ 1700000000, 1700000000 }
	end)

	it("fails: a secret no mock gives", function()
		run({ secret = "api_key" })
	end)
end)
