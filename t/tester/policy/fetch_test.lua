-- The policy applies in tests. Tests named "fails: ..." are meant to fail.
local fetch = rule()

before_each(function()
	mock.http{ url = "https://*", optional = true }
end)

it("makes a call the policy allows", function()
	local r = fetch{ urls = { "https://api.example/a" } }
	expect(r.value).to_equal{ ok = 1, failed = {} }
end)

it("fails: a call the policy denies, though the rule catches it", function()
	fetch{ urls = { "https://evil.example/a" } }
end)

it("expects a denial", function()
	policy.expect_denial()
	local r = fetch{ urls = { "https://evil.example/a" } }
	expect(r.value.failed).to_equal{ "denied" }
end)

it("fails: expects a denial that does not come", function()
	policy.expect_denial()
	fetch{ urls = { "https://api.example/a" } }
end)

it("denies calls over the quota", function()
	policy.expect_denial()
	local r = fetch{ urls = { "https://api.example/1", "https://api.example/2",
		"https://api.example/3" } }
	expect(r.value).to_equal{ ok = 2, failed = { "denied" } }
end)

it("can ignore the policy", function()
	policy.ignore()
	local r = fetch{ urls = { "https://evil.example/a", "https://evil.example/b",
		"https://evil.example/c" } }
	expect(r.value.ok).to_be(3)
end)
