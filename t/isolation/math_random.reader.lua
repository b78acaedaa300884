-- reads: whether its first numbers are the writer's seed's, or the numbers the writer's fresh state drew
-- result-part: {"seeded_by_writer":false}
-- differs-from-writer: first
return function(event, ctx)
	local first = { math.random(1 << 50), math.random(1 << 50), math.random(1 << 50) }
	math.randomseed(42)
	local s42 = { math.random(1 << 50), math.random(1 << 50), math.random(1 << 50) }
	return {
		first = first,
		seeded_by_writer = first[1] == s42[1] and first[2] == s42[2],
	}
end
