it("loops forever", function()
	local n = 0
	while true do n = n + 1 end
end)

it("runs after the loop", function()
	expect(1).to_be(1)
end)

it("recurses forever", function()
	local function f() return 1 + f() end
	f()
end)

it("allocates forever", function()
	local t = {}
	while true do t[#t + 1] = {} end
end)
