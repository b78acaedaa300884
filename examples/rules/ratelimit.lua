-- A rate limiter at an API gateway's "request" extension point: at most
-- LIMIT requests per client in each window, counted in kv. The first
-- request of a window creates the counter with the window as its ttl, so
-- the window ends by itself and the next request starts a new one.
local LIMIT = 5
local WINDOW_MS = 60 * 1000

return function(event, ctx)
	local n = kv.incr("ratelimit:" .. event.client, 1, WINDOW_MS)
	if n > LIMIT then
		log.warn("rate limited", { client = event.client, count = n })
	end
	return {
		allowed = n <= LIMIT,
		remaining = math.max(LIMIT - n, 0),
	}
end
