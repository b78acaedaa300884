-- Routing support tickets by the tags in their subjects.
local route = rule()

describe("route", function()
	it("sends outages to the on-call queue", function()
		local r = route{ subject = "[Outage] checkout returns 502" }
		expect(r.value).to_equal{ queue = "oncall", tag = "Outage" }
	end)

	it("takes the first tag it knows", function()
		local r = route{ subject = "[urgent] [billing] [bug] double charge" }
		expect(r.value.queue).to_be("finance")
	end)

	it("sends untagged tickets to support", function()
		local r = route{ subject = "how do I export my data?" }
		expect(r.value.queue).to_be("support")
		expect(r.value.tag).to_be(json.null)
	end)
end)
