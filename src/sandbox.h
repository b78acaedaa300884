/*
 * sandbox.h: the stripped Lua state (sandbox.c). What a rule can reach is one
 * table, sbx_libs; see moonbox-lua(7).
 */
#ifndef MB_SANDBOX_H
#define MB_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "limit.h"

/* Set up the process once, before containment. */
int		 sbx_init(void);
/* A fresh state whose allocator counts into m. NULL if out of memory. */
lua_State	*sbx_new(struct lim *);
/* Compile rule source (text only) and push the chunk. Returns a lua_load
 * status; on error the message is on the stack. */
int		 sbx_load(lua_State *, const char *, size_t, const char *);
/* math.random: every state starts from a base seed of its own, from the
 * kernel or, once sbx_fix_seed has been given one, from that (replay; NULL:
 * the kernel again); math.randomseed() without arguments derives the next
 * seed from it. sbx_seed says a state's base seed, for a recording. */
void		 sbx_fix_seed(const int64_t *);
int		 sbx_seed(lua_State *, int64_t[2]);
/* A plain state for trusted Lua of moonbox's own (the configuration
 * grammar, the linter) with just the libraries named, a NULL-named end.
 * NULL if out of memory. */
struct luaL_Reg;
lua_State	*sbx_trusted_new(const struct luaL_Reg *);

#endif
