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
int	modcap_error_field(lua_State *, int, const char *);

#endif
