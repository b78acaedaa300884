-- Route a support ticket by its subject, with an re grammar (LPeg).
local subject = re.compile([[
	subject <- {| (tag / .)* |}
	tag     <- '[' {[%a]+} ']'
]])

local queues = { billing = "finance", outage = "oncall", bug = "engineering" }

return function(event, ctx)
	local tags = subject:match(event.subject) or {}
	for _, tag in ipairs(tags) do
		local queue = queues[tag:lower()]
		if queue then
			return { queue = queue, tag = tag }
		end
	end
	return { queue = "support", tag = json.null }
end
