-- A rule looking for a way into the tester that runs it. It reports every
-- name it finds; a test expects none.
local found = {}

local function look(name, value)
	if value ~= nil then found[#found + 1] = name end
end

return function(event, ctx)
	for _, name in ipairs{ "mock", "expect", "describe", "it", "rule",
		"policy", "before_each", "expect_usage", "expect_calls", "T",
		"debug", "io", "os", "package", "require", "load", "loadfile",
		"dofile", "from_the_test", "from_an_earlier_invocation" } do
		look(name, rawget(_G, name))
	end
	look("the event's metatable", getmetatable(event))
	for k in pairs(ctx) do
		if k ~= "rule" and k ~= "invocation" then look("ctx." .. k, k) end
	end
	from_an_earlier_invocation = true
	-- A mock's data is reachable only through a call the policy allows.
	if event.try_secret then
		look("a secret", pcall(secrets.get, "api_key") or nil)
	end
	return found
end
