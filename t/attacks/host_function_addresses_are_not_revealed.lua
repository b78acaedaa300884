-- attack: reads the addresses of moonbox's and liblua's C functions (tostring, string.format %p) to defeat ASLR for a later memory-corruption bug
-- expect: ok
-- result: {"moonbox":false,"liblua":false,"format_p":false}
return function(event, ctx)
	local function reveals(s) return s:find("0x%x%x%x%x") ~= nil end
	return {
		moonbox = reveals(tostring(print)),	-- a function of moonbox
		liblua = reveals(tostring(string.len)),	-- a function of liblua
		format_p = reveals(string.format("%p", string.rep)),
	}
end
