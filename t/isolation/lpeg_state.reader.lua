-- reads: a match that needs more than 5 backtrack entries (but fewer than LPeg's 400), and re's %a class
-- result: {"deep":101,"alpha":"nil","locale":"table"}
return function(event, ctx)
	return {
		deep = lpeg.match(lpeg.P{ "a" * lpeg.V(1) * "b" + "" }, ("a"):rep(50) .. ("b"):rep(50)),
		alpha = type(re.find("1", "%a")),
		locale = type(lpeg.locale().alpha and {}),
	}
end
