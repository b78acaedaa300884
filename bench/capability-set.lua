-- Set-up for the capability workload: the key that capability.lua reads.
return function(event, ctx)
	kv.set("bench:key", "value-0123456789")
	return kv.get("bench:key")
end
