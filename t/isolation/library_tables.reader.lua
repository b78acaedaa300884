-- reads: the library functions and constants, as a fresh state has them
-- result: {"rep":"aaa","concat":"a,b","floor":1,"char":"A","wrap":1,"json":"[1]","b64":"eA==","sha":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881","lpeg":2,"re":1,"pi":true,"evil":"nil"}
return function(event, ctx)
	return {
		rep = ("a"):rep(3),
		concat = table.concat({ "a", "b" }, ","),
		floor = math.floor(1.5),
		char = utf8.char(65),
		wrap = coroutine.wrap(function() return 1 end)(),
		json = json.encode({ 1 }),
		b64 = base64.encode("x"),
		sha = crypto.sha256("x"),
		lpeg = lpeg.match(lpeg.P"a", "a"),
		re = re.find("xa", "'a'") - 1,
		pi = math.pi > 3.14,
		evil = type(string.evil or table.evil),
	}
end
