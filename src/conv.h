/*
 * conv.h: values between Lua and msgpack (conv.c). The rules of what converts
 * are in moonbox-lua(7), "Values".
 */
#ifndef MB_CONV_H
#define MB_CONV_H

#include <stddef.h>

#include <lua.h>
#include <msgpack.h>

#define CONV_ARRAY_MT	"moonbox.array"	/* registry: marks empty arrays */

struct conv_error {
	char	path[256];	/* where: result.items[3].f */
	char	what[160];	/* why */
};

/* Pack the value at idx (raw access only: no metamethod runs). Returns 0, or
 * -1 with err filled; limit caps the packed bytes (0: none). In a sandbox's
 * state (allocator lim_alloc) the walk also stops at its deadline and, with
 * no limit, where the packed bytes would pass its memory limit. */
int	conv_pack(lua_State *, int, const char *, size_t, msgpack_sbuffer *,
	    struct conv_error *);
/* Push the one msgpack value that buf holds, nothing left over; a nil at top
 * level is Lua nil, below it json.null. Returns 0, or -1 with err filled and
 * nothing pushed. May raise a Lua memory error. */
int	conv_push(lua_State *, const char *, size_t, struct conv_error *);
/* Check that buf holds exactly one valid value, nested 64 levels at most. */
int	conv_check(const char *, size_t, struct conv_error *);

#endif
