-- attack: an endless loop with no instruction budget
-- expect: timeout
-- args: --timeout 200ms
-- message: deadline of 200 ms passed
return function(event, ctx)
	while true do end
end
