-- attack: looks for every removed function through _G, _ENV and rawget
-- expect: ok
-- result: []
local removed = { "debug", "io", "os", "package", "load", "loadstring",
	"dofile", "loadfile", "require", "warn", "module", "setfenv",
	"getfenv", "newproxy", "unpack", "gcinfo" }
return function(event, ctx)
	local found = {}
	for _, name in ipairs(removed) do
		if _G[name] ~= nil or _ENV[name] ~= nil or rawget(_G, name) ~= nil
		    or rawget(_ENV, name) ~= nil then
			found[#found + 1] = name
		end
	end
	for k in pairs(_G) do		-- nothing reached by walking either
		for _, name in ipairs(removed) do
			if k == name then found[#found + 1] = "pairs:" .. k end
		end
	end
	if string.dump ~= nil then found[#found + 1] = "string.dump" end
	return json.array(found)
end
