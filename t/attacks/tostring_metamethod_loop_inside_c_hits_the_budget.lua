-- attack: a __tostring that never returns, called from C by tostring and print
-- expect: instructions
-- args: --instructions 200000
return function(event, ctx)
	local t = setmetatable({}, { __tostring = function() while true do end end })
	print(t)
end
