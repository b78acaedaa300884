-- The capability workload of bench/: one kv.get per invocation, through
-- the broker (the policy allows reads of "bench:"); capability-set.lua
-- stores the key first. redis/capability.lua does one GET.
return function(event, ctx)
	return kv.get("bench:key")
end
