-- reads: string methods and what getmetatable("") reveals
-- result: {"upper":"X","len":3,"evil":"nil","meta":"string"}
return function(event, ctx)
	return {
		upper = ("x"):upper(),
		len = ("abc"):len(),
		evil = type(("x").evil),
		meta = getmetatable(""),
	}
end
