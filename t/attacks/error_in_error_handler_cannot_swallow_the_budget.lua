-- attack: nested pcalls inside an xpcall handler that itself errors, to reset the limit
-- expect: instructions
-- args: --instructions 100000
return function(event, ctx)
	local function handler(m)
		pcall(error, "again")
		error("handler fails too")
	end
	for i = 1, 1e9 do
		xpcall(function() while true do end end, handler)
	end
end
