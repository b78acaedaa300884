-- bench/capability.lua for Redis EVALSHA: one GET of KEYS[1] (bench:key,
-- set to the same value before the run).
return redis.call("GET", KEYS[1])
