-- env_replaced.lua: a chunk that sets its own _ENV: what a name means is
-- then the rule's business, and globals are not checked.
local sandbox = _ENV
_ENV = setmetatable({}, { __index = sandbox })
return function(event, ctx)
	helper_defined_elsewhere = 1
	return helper_defined_elsewhere + undefined_anywhere
end
