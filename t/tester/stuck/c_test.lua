it("is stuck inside string.find", function()
	string.find(string.rep("a", 200), ".-.-.-.-.-x")
end)

it("runs in a new worker afterwards", function()
	expect(2 + 2).to_be(4)
end)
