-- attack: two tables that are each other's __index
-- expect: runtime
-- message: '__index' chain too long; possible loop
return function(event, ctx)
	local a, b = {}, {}
	setmetatable(a, { __index = b })
	setmetatable(b, { __index = a })
	return a.x
end
