-- bug: GC not setting a proper target for next cycle after a full collection in generational mode (5.4.4)
-- reachable: no: the collector's mode can only be changed by collectgarbage("generational"), which the sandbox's collectgarbage refuses
-- expect: ok
-- result: {"generational":false,"incremental":false,"collect":0}
return function(event, ctx)
	return {
		generational = (pcall(collectgarbage, "generational")),
		incremental = (pcall(collectgarbage, "incremental")),
		collect = collectgarbage("collect"),
	}
end
