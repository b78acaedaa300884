-- reads: nothing of the writer's runs before or during it; its log holds only its own line
-- result: "clean"
-- log: ["reader's own line"]
return function(event, ctx)
	print("reader's own line")
	collectgarbage()
	collectgarbage()
	return KEEP == nil and "clean" or "writer's objects are here"
end
