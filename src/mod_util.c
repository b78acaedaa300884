/*
 * mod_util.c: run Lua work in protected mode so that C memory held around it
 * is always freed (a rule's error or limit longjmps through C frames).
 */
#include <stdlib.h>

#include <lauxlib.h>

#include "limit.h"
#include "mod_util.h"

struct mod_call {
	int	(*fn)(lua_State *, void *);
	void	*ud;
	int	 n;
};

static int
mod_trampoline(lua_State *L)
{
	struct mod_call *c = lua_touserdata(L, 1);

	lua_pop(L, 1);
	c->n = c->fn(L, c->ud);
	return c->n;
}

int
mod_protect(lua_State *L, int (*fn)(lua_State *, void *), void *ud)
{
	struct mod_call c = { fn, ud, 0 };

	if (!lua_checkstack(L, 2))
		luaL_error(L, "out of stack space");
	lua_pushcfunction(L, mod_trampoline);
	lua_pushlightuserdata(L, &c);
	return lua_pcall(L, 1, LUA_MULTRET, 0);
}

struct mod_str {
	const char	*s;
	size_t		 n;
};

static int
mod_push_str(lua_State *L, void *ud)
{
	struct mod_str *m = ud;

	lua_pushlstring(L, m->s, m->n);
	return 1;
}

int
mod_push_free(lua_State *L, char *s, size_t n)
{
	struct mod_str m = { s, n };
	int status = mod_protect(L, mod_push_str, &m);

	free(s);
	if (status != LUA_OK)
		return lua_error(L);
	return 1;
}
