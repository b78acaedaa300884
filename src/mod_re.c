/*
 * mod_re.c: LPeg's re module, loaded on first use: its source is compiled
 * only by rules that touch `re`. It runs in a private environment whose
 * require yields lpeg and nothing else. Uses embedded.h and mod_base.c.
 */
#include <string.h>

#include <lauxlib.h>

#include "embedded.h"
#include "mod.h"

static int
modre_require(lua_State *L)
{
	luaL_checkstring(L, 1);
	if (strcmp(lua_tostring(L, 1), "lpeg") != 0)
		return luaL_error(L, "module '%s' not found", lua_tostring(L, 1));
	lua_pushvalue(L, lua_upvalueindex(1));
	return 1;
}

/* setmetatable for re's own tables: LPeg's metatable carries a C __gc. */
static int
modre_setmetatable(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

static void
modre_env(lua_State *L)
{
	static const char *const from_base[] = {
		"tonumber", "type", "error", "_VERSION", NULL
	};

	lua_createtable(L, 0, 8);
	for (int i = 0; from_base[i] != NULL; i++) {
		lua_getglobal(L, from_base[i]);
		lua_setfield(L, -2, from_base[i]);
	}
	modbase_getprint(L);
	lua_setfield(L, -2, "print");
	lua_pushcfunction(L, modbase_rawgetmetatable);
	lua_setfield(L, -2, "getmetatable");
	lua_pushcfunction(L, modre_setmetatable);
	lua_setfield(L, -2, "setmetatable");
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, "lpeg");
	lua_remove(L, -2);
	lua_pushcclosure(L, modre_require, 1);
	lua_setfield(L, -2, "require");
}

/* __index of the proxy: load re, fill the proxy, drop its metatable. */
static int
modre_load(lua_State *L)
{
	const struct embedded *e = embedded_find("re");

	if (e == NULL || luaL_loadbufferx(L, e->source, e->len, "=re", "t")
	    != LUA_OK)
		return luaL_error(L, "re: module unavailable");
	modre_env(L);
	lua_setupvalue(L, -2, 1);
	lua_call(L, 0, 1);
	luaL_checktype(L, -1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, 1);
	}
	lua_pushnil(L);
	lua_setmetatable(L, 1);
	lua_settop(L, 2);
	lua_rawget(L, 1);
	return 1;
}

int
modre_open(lua_State *L)
{
	lua_newtable(L);
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, modre_load);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "re");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	return 1;
}
