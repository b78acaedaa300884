-- reads: its own log: one line, nothing dropped
-- result: "read"
-- log: ["reader's own line"]
return function(event, ctx)
	print("reader's own line")
	return "read"
end
