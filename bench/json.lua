-- The json workload of bench/: json-doc.json, a 4 KB order, arrives as the
-- event; the rule walks all of it and summarises it (values by type, the
-- sum of the numbers, the characters of the strings, the depth) and totals
-- the order. It returns one string, as redis/json.lua does.
local function walk(v, depth, s)
	local t = type(v)
	if t == "table" then
		s.tables = s.tables + 1
		if depth > s.depth then s.depth = depth end
		for k, x in pairs(v) do
			if type(k) == "string" then s.chars = s.chars + #k end
			walk(x, depth + 1, s)
		end
	elseif t == "string" then
		s.strings = s.strings + 1
		s.chars = s.chars + #v
	elseif t == "number" then
		s.numbers = s.numbers + 1
		s.sum = s.sum + v
	elseif t == "boolean" then
		s.bools = s.bools + 1
	end
end

return function(doc, ctx)
	local s = { tables = 0, strings = 0, numbers = 0, bools = 0, sum = 0,
		chars = 0, depth = 0 }
	walk(doc, 1, s)
	local total, tags, ntags = doc.shipping.cost, {}, 0
	for _, item in ipairs(doc.items) do
		total = total + item.qty * item.price
		for _, tag in ipairs(item.tags) do
			if not tags[tag] then tags[tag], ntags = true, ntags + 1 end
		end
	end
	return string.format("tables=%d strings=%d numbers=%d bools=%d sum=%d "
	    .. "chars=%d depth=%d total=%d tags=%d", s.tables, s.strings,
	    s.numbers, s.bools, s.sum, s.chars, s.depth, total, ntags)
end
