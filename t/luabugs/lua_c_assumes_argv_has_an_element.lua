-- bug: lua.c assumes that argv has at least one element (5.4.4)
-- reachable: no: the bug is in the stand-alone interpreter, which moonbox neither links nor runs; a rule sees no arg table
-- expect: ok
-- result: {"arg":"nil"}
return function(event, ctx)
	return { arg = type(arg) }
end
