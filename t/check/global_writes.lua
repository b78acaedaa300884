-- global_writes.lua: writes to globals, in every form; reads of a global
-- the file writes are not also reported as undefined.
count = 0
function helper() return count end
_ENV.total = 1
_G.grand = 2
local t = {}
t.field = 1			-- a table's field: fine
return function(event, ctx)
	count = count + 1
	return helper(), total, grand, t
end
