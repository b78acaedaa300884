/*
 * mod_base.c: the base functions the sandbox replaces: print (to the
 * invocation's log), collectgarbage (a few harmless options), setmetatable
 * (no __gc: a finalizer would run with hooks off, beyond the limits), xpcall
 * (no rule handler once a limit is hit: it would run with hooks off).
 * Uses limit.c for the log and the limits.
 */
#include <string.h>

#include <lauxlib.h>

#include "limit.h"
#include "mod.h"

static int
modbase_print(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_Buffer b;
	size_t len;
	const char *s;

	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		modtostr_tolstring(L, i, NULL);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	lim_log_append(lim_of(L), s, len);
	return 0;
}

static int
modbase_collectgarbage(lua_State *L)
{
	static const char *const opts[] = {
		"collect", "step", "count", "isrunning", NULL
	};
	struct lim *m = lim_of(L);

	switch (luaL_checkoption(L, 1, "collect", opts)) {
	case 0:
		lua_gc(L, LUA_GCCOLLECT);
		lua_pushinteger(L, 0);
		return 1;
	case 1:
		lua_pushboolean(L, lua_gc(L, LUA_GCSTEP, 0));
		return 1;
	case 2:
		lua_pushnumber(L, (lua_Number)m->used / 1024);
		return 1;
	default:
		lua_pushboolean(L, lua_gc(L, LUA_GCISRUNNING));
		return 1;
	}
}

static int
modbase_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);

	luaL_checktype(L, 1, LUA_TTABLE);	/* errors name us, not '?' */
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "__gc metamethods are not "
			    "available in the sandbox");
		lua_pop(L, 1);
	}
	lua_pushvalue(L, lua_upvalueindex(1));	/* Lua's own */
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/*
 * xpcall's message handler. A limit's error is raised from inside the count
 * hook, where Lua turns hooks off until a protected call returns, and Lua
 * runs the handler before that: a rule's handler would loop beyond every
 * limit. So once a limit is hit the rule's handler is not called; the
 * limit's error goes through as it is.
 */
static int
modbase_msgh(lua_State *L)
{
	struct lim *m = lim_of(L);

	if (m->hit != MB_OK || m->expired)
		return 1;
	lua_pushvalue(L, lua_upvalueindex(1));	/* the rule's handler */
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int
modbase_xpcall_done(lua_State *L, int status, lua_KContext base)
{
	if (status != LUA_OK && status != LUA_YIELD) {
		lua_pushboolean(L, 0);
		lua_insert(L, -2);
		return 2;
	}
	return lua_gettop(L) - (int)base;
}

/* xpcall(f, msgh, ...) as Lua's, with msgh behind modbase_msgh. */
static int
modbase_xpcall(lua_State *L)
{
	int n = lua_gettop(L), status;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, modbase_msgh, 1);
	lua_replace(L, 2);			/* 2: the handler */
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);			/* 3: true, 4: f, then the args */
	status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, modbase_xpcall_done);
	return modbase_xpcall_done(L, status, 2);
}

/* getmetatable that ignores __metatable: for trusted modules' private
 * environments only, never a rule's. */
int
modbase_rawgetmetatable(lua_State *L)
{
	luaL_checkany(L, 1);
	if (!lua_getmetatable(L, 1))
		lua_pushnil(L);
	return 1;
}

/* Replace print, collectgarbage, setmetatable and xpcall in the table at
 * idx. */
void
modbase_patch(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	modtostr_patch_base(L, idx);
	lua_pushcfunction(L, modbase_print);
	lua_setfield(L, idx, "print");
	lua_pushcfunction(L, modbase_collectgarbage);
	lua_setfield(L, idx, "collectgarbage");
	lua_getfield(L, idx, "setmetatable");
	lua_pushcclosure(L, modbase_setmetatable, 1);
	lua_setfield(L, idx, "setmetatable");
	lua_pushcfunction(L, modbase_xpcall);
	lua_setfield(L, idx, "xpcall");
}

int
modbase_getprint(lua_State *L)
{
	lua_pushcfunction(L, modbase_print);
	return 1;
}
