/* mod_util.h: helpers for C modules that hold memory outside Lua (mod_util.c). */
#ifndef MB_MOD_UTIL_H
#define MB_MOD_UTIL_H

#include <stddef.h>

#include <lua.h>

/* Run fn(L, ud) so that a Lua error cannot skip the caller's cleanup.
 * fn returns how many values it pushed. Returns a lua_pcall status; on error
 * the error object is on the top. */
int	mod_protect(lua_State *, int (*)(lua_State *, void *), void *);
/* Push the malloc'ed s as a Lua string and free it, even on error. */
int	mod_push_free(lua_State *, char *, size_t);

#endif
