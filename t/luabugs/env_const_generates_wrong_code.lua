-- bug: Lua can generate wrong code when _ENV is <const> (5.4.4; CVE-2022-28805, a heap overflow in the parser; patched in Debian's 5.4.4-2)
-- reachable: yes: any rule can declare a <const> _ENV
-- expect: ok
-- result: {"assign":false,"read":false,"says_number":true}
return function(event, ctx)
	local function assign() local _ENV <const> = 11; X = "hi" end
	local function read() local _ENV <const> = 11; return X end
	local function nested()
		local _ENV <const> = 11
		return function() return Y end
	end
	local ok1, m1 = pcall(assign)
	local ok2, m2 = pcall(read)
	local ok3, m3 = pcall(nested())
	return {
		assign = ok1, read = ok2 or ok3,
		says_number = not not (m1:find("number") and m2:find("number")
		    and m3:find("number")),
	}
end
