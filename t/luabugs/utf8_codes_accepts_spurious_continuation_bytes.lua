-- bug: 'utf8.codes' does not raise an error on spurious continuation bytes (5.4.4)
-- reachable: yes
-- expect: ok
-- result-part: {"contained":true,"invalid_lead_refused":true}
-- note: on an unpatched 5.4.4 "a\x80" decodes to one code point instead of an error: a wrong answer about a string, never a read outside it
return function(event, ctx)
	local function codes(s)
		local r = {}
		for p, c in utf8.codes(s) do r[#r + 1] = c end
		return r
	end
	local ok, r = pcall(codes, "a\x80")
	local ok2 = pcall(codes, "ab\xff")
	local ok3, r3 = pcall(codes, "\x80\x80\x80\x80")
	return { contained = true, spurious_accepted = ok, invalid_lead_refused = not ok2 }
end
