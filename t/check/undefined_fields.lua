-- undefined_fields.lua: fields the sandbox's libraries do not have.
string.trim = function(s) return (s:gsub("^%s+", "")) end
return function(event, ctx)
	local a = string.fromat("%d", 1)
	local b = math.flor(1.5)
	local c = table.insrt
	local d = kv.gte("k")
	local e = string.trim(" x ")	-- the file made it
	local f = os.time()
	return a, b, c, d, e, f
end
