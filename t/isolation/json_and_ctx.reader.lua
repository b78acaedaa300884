-- reads: json.null, an empty array's encoding, and its own ctx
-- result: {"null":"userdata","empty":"[]","extra":"nil","rule_is_mine":true}
return function(event, ctx)
	return {
		null = type(json.null),
		empty = json.encode(json.array({})),
		extra = type(ctx.extra),
		rule_is_mine = ctx.rule:match("json_and_ctx%.reader$") ~= nil,
	}
end
