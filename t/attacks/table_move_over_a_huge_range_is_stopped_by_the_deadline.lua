-- attack: table.move over a hundred million empty slots: a loop inside C that allocates nothing
-- expect: timeout
-- args: --timeout 200ms
-- runaway: c
return function(event, ctx)
	table.move({}, 1, 1e8, 2)
	return "moved"
end
