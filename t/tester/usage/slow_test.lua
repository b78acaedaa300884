local slow = rule()

it("is cheap for a small n", function()
	expect_usage(slow{ n = 100 }, { instructions = 5000 })
end)

it("is too slow for a large n", function()
	local r = slow{ n = 100000 }
	expect(r.value).to_be(5000050000)
	expect_usage(r, { instructions = 1e5, memory = "1M" })
end)

it("runs out of its budget", function()
	expect(slow({ n = 1e9 }, { instructions = 1e6 })).to_fail_with("instructions")
end)
