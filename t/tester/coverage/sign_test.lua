local sign = rule()

it("is positive", function()
	expect(sign{ x = 5 }.value).to_be("positive")
end)

it("is zero", function()
	expect(sign{ x = 0 }.value).to_be("zero")
	expect(sign{ x = 0 }.value).to_be("zero")
end)
