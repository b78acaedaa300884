-- attack: an xpcall message handler that loops, called for the deadline's own error (raised in the hook, where Lua turns hooks off)
-- expect: timeout
-- args: --timeout 200ms
-- message: \Adeadline of 200 ms passed\z
return function(event, ctx)
	xpcall(function() while true do end end, function(m) while true do end end)
	return "handled"
end
