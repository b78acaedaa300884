-- returns_nothing.lua: a rule that forgets to return its function.
local function handle(event, ctx)
	return event
end
