-- reads: a computation of a tenth of its deadline, under a timer that must start afresh
-- result: "finished"
return function(event, ctx)
	local n = 0
	for i = 1, 3e5 do n = n + i % 7 end
	return "finished"
end
