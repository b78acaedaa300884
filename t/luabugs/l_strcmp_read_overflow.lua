-- bug: Read overflow in 'l_strcmp' (found after 5.4.4; its code is in 5.4.4): comparing strings with embedded zeros
-- reachable: yes: the < and <= operators on strings
-- expect: ok
-- result: [true,false,true,true,false,true]
return function(event, ctx)
	local z = "\0"
	return {
		"a\0b" < "a\0c", "a\0" < "a", "a" < "a\0",
		("x"):rep(100) .. z < ("x"):rep(100) .. z .. z,
		z:rep(1000) < z:rep(999), "" <= z,
	}
end
