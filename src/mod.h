/*
 * mod.h: the sandbox's C modules and the patches to Lua's own libraries
 * (mod_*.c). Each opener pushes its library table.
 */
#ifndef MB_MOD_H
#define MB_MOD_H

#include <lua.h>

void	modbase_patch(lua_State *, int);
int	modbase_rawgetmetatable(lua_State *);
int	modbase_getprint(lua_State *);
void	modstring_patch(lua_State *, int);
void	modlpeg_patch(lua_State *, int);
int	modjson_open(lua_State *);
int	modb64_open(lua_State *);
int	modcrypto_open(lua_State *);
int	modre_open(lua_State *);
void	modcap_install(lua_State *);
const char *modtostr_tolstring(lua_State *, int, size_t *);
void	modtostr_patch_base(lua_State *, int);
void	modtostr_patch_string(lua_State *, int);
void	modcap_set_channel(int);
/* Serve capability calls in this process (moonbox test, replay): given a
 * PROTO_CAP_CALL body, return a malloc'ed PROTO_CAP_REPLY body (*len its
 * size), or NULL for "the broker is not available". */
typedef char	*(*modcap_handler)(void *, const char *, size_t, size_t *);
void	modcap_set_handler(modcap_handler, void *);
int	modcap_error_field(lua_State *, int, const char *);

#endif
