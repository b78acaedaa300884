/*
 * sandbox.h: the stripped Lua state (sandbox.c). What a rule can reach is one
 * table, sbx_libs; see moonbox-lua(7).
 */
#ifndef MB_SANDBOX_H
#define MB_SANDBOX_H

#include <stddef.h>

#include <lua.h>

#include "limit.h"

/* Set up the process once, before containment. */
int		 sbx_init(void);
/* A fresh state whose allocator counts into m. NULL if out of memory. */
lua_State	*sbx_new(struct lim *);
/* Compile rule source (text only) and push the chunk. Returns a lua_load
 * status; on error the message is on the stack. */
int		 sbx_load(lua_State *, const char *, size_t, const char *);

#endif
