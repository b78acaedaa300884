-- attack: an xpcall message handler that never returns
-- expect: instructions
-- args: --instructions 200000
-- message: \Ainstruction budget of 200000 exhausted\z
return function(event, ctx)
	xpcall(error, function() while true do end end, "boom")
	return "swallowed"
end
