-- attack: an xpcall handler that returns normally after the deadline, then more work
-- expect: timeout
-- args: --timeout 200ms
-- message: \Adeadline of 200 ms passed\z
return function(event, ctx)
	local ok, msg = xpcall(function() while true do end end,
	    function(m) return "handled" end)
	while true do end
end
