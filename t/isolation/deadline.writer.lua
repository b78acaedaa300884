-- writes: the deadline's timer state: it loops until its deadline
-- expect: timeout
-- args: --timeout 200ms
return function(event, ctx)
	while true do end
end
