local broken = rule()

it("never runs", function()
	expect(broken{}).to_succeed(
end)
