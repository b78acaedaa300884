/*
 * rcache.h: a worker's cache of the rules it has compiled (rcache.c). A
 * rule is compiled from its text, as ever; what is kept is the process's
 * own lua_dump of that compilation, loaded into each fresh state instead
 * of parsing the text again. A rule's own bytecode is still refused.
 */
#ifndef MB_RCACHE_H
#define MB_RCACHE_H

#include <stddef.h>

#include <lua.h>

#define RCACHE_MAX_BYTES	(8u << 20)

/* Push the rule's chunk: from the cache when name and source match,
 * else compiled from the text (sbx_load) and kept. Returns a lua_load
 * status; on error the message is on the stack. */
int	rcache_load(lua_State *, const char *, const char *, size_t,
	    const char *);
void	rcache_clear(void);

#endif
