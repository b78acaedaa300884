-- Nothing of the test reaches the rule: a fresh state for each
-- invocation, values copied across, mocks held in C.
local probe = rule()
from_the_test = { mock = mock, expect = expect }

it("finds nothing of the tester, twice", function()
	policy.expect_denial()
	mock.secrets{ api_key = "s3cret" }
	local event = setmetatable({ try_secret = true },
		{ __index = function() return 1 end })
	for _ = 1, 2 do
		local r = probe(event)
		expect(r.value).to_equal{}
		expect(r.calls[1].error.kind).to_be("denied")
	end
end)

it("gets a copy of the event, never the test's own table", function()
	local t = { 1 }
	expect(probe(t).value).to_equal{}
	expect(t).to_equal{ 1 }
	expect(function() probe{ f = print } end).not_.to_be_nil()
end)

it("fails: cannot be given a function", function()
	probe{ f = print }
end)

it("runs in a sandbox itself", function()
	for _, name in ipairs{ "debug", "io", "os", "package", "require", "load",
		"loadfile", "dofile", "http", "kv", "secrets", "time", "log" } do
		expect(rawget(_G, name)).to_be_nil()
	end
	expect(string.dump).to_be_nil()
end)
