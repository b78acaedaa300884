-- attack: returns a small table that holds one subtable twice at each of 60 levels (2^60 paths, no cycle)
-- expect: output
-- message: larger than the output limit
return function(event, ctx)
	local t = {}
	for i = 1, 60 do t = { t, t } end
	return t
end
