/*
 * coro.c: coroutine.resume, coroutine.wrap and coroutine.close for the sandbox.
 * They behave as Lua's own, and settle the instruction budget and re-arm the
 * limits on every switch of coroutine, because a Lua hook is per coroutine.
 * Uses limit.c.
 */
#include <string.h>

#include <lauxlib.h>

#include "coro.h"
#include "limit.h"

#define CORO_MAX_CLOSE_DEPTH	64	/* Lua 5.4.4 overflows the C stack on
					 * deeply nested coroutine.close */
#define CORO_CSTACK_ERROR	"C stack overflow"

enum coro_state { CO_RUNNING, CO_SUSPENDED, CO_NORMAL, CO_DEAD };

static const char *const coro_state_names[] = {
	"running", "suspended", "normal", "dead"
};

static lua_State *
coro_arg(lua_State *L)
{
	lua_State *co = lua_tothread(L, 1);

	luaL_argexpected(L, co != NULL, 1, "coroutine");
	return co;
}

static enum coro_state
coro_state(lua_State *L, lua_State *co)
{
	lua_Debug ar;

	if (L == co)
		return CO_RUNNING;
	switch (lua_status(co)) {
	case LUA_YIELD:
		return CO_SUSPENDED;
	case LUA_OK:
		if (lua_getstack(co, 0, &ar))
			return CO_NORMAL;	/* it resumed another */
		return lua_gettop(co) == 0 ? CO_DEAD : CO_SUSPENDED;
	default:
		return CO_DEAD;			/* it ended in an error */
	}
}

/* Hand the CPU from L to co and back, with the budget settled both ways. */
static int
coro_switch(lua_State *L, lua_State *co, int narg, int *nres)
{
	struct lim *m = lim_of(L);
	int status;

	lim_leave(m, L);
	lim_enter(m, co);
	status = lua_resume(co, L, narg, nres);
	lim_leave(m, co);
	lim_enter(m, L);
	return status;
}

/* Resume co with narg values from L's top; push the results or the error
 * object. Returns the number of results, or -1 after an error. */
static int
coro_transfer(lua_State *L, lua_State *co, int narg)
{
	int status, nres = 0;

	if (coro_state(L, co) != CO_SUSPENDED) {
		lua_pushstring(L, coro_state(L, co) == CO_DEAD ?
		    "cannot resume dead coroutine" :
		    "cannot resume non-suspended coroutine");
		return -1;
	}
	if (!lua_checkstack(co, narg)) {
		lua_pushliteral(L, "too many arguments to resume");
		return -1;
	}
	if (lim_cstack_used(lim_of(L)) > LIM_MAX_CSTACK) {
		lua_pushliteral(L, CORO_CSTACK_ERROR);	/* see coro_reset */
		return -1;
	}
	lua_xmove(L, co, narg);
	status = coro_switch(L, co, narg, &nres);
	lim_check(lim_of(L), L);	/* a limit hit inside stays hit */
	if (status == LUA_OK || status == LUA_YIELD) {
		if (!lua_checkstack(L, nres + 1)) {
			lua_pop(co, nres);
			lua_pushliteral(L, "too many results to resume");
			return -1;
		}
		lua_xmove(co, L, nres);
		return nres;
	}
	lua_xmove(co, L, 1);
	return -1;
}

/*
 * Close co's pending to-be-closed variables (they run in co). Lua restarts
 * its count of nested C calls in co, so each nested close may add another
 * full count of C frames: the depth of closes and the C stack in use are
 * both bounded here.
 */
static int
coro_reset(lua_State *L, lua_State *co)
{
	struct lim *m = lim_of(L);
	int status;

	lim_check(m, L);	/* a coroutine killed by a limit died inside the
				 * hook, hooks off: its __close would run free */
	if (m->nclose >= CORO_MAX_CLOSE_DEPTH)
		return luaL_error(L, "too many nested coroutine.close calls");
	if (lim_cstack_used(m) > LIM_MAX_CSTACK)
		return luaL_error(L, CORO_CSTACK_ERROR);
	m->nclose++;
	lim_leave(m, L);
	lim_enter(m, co);
	status = lua_resetthread(co);
	lim_leave(m, co);
	lim_enter(m, L);
	m->nclose--;
	lim_check(m, L);
	return status;
}

static int
coro_resume(lua_State *L)
{
	lua_State *co = coro_arg(L);
	int r = coro_transfer(L, co, lua_gettop(L) - 1);

	if (r < 0) {
		lua_pushboolean(L, 0);
		lua_insert(L, -2);
		return 2;
	}
	lua_pushboolean(L, 1);
	lua_insert(L, -(r + 1));
	return r + 1;
}

/* Prefix the error at the top with where the wrapper was called, as Lua's
 * wrap does, but once: nested wraps would repeat the same place. */
static void
coro_add_where(lua_State *L)
{
	size_t wn, en;
	const char *where, *err;

	luaL_where(L, 1);
	where = lua_tolstring(L, -1, &wn);
	err = lua_tolstring(L, -2, &en);
	if (wn == 0 || (en >= wn && memcmp(err, where, wn) == 0)) {
		lua_pop(L, 1);
		return;
	}
	lua_insert(L, -2);
	lua_concat(L, 2);
}

static int
coro_wrapped(lua_State *L)
{
	lua_State *co = lua_tothread(L, lua_upvalueindex(1));
	int r = coro_transfer(L, co, lua_gettop(L));
	int status;

	if (r >= 0)
		return r;
	status = lua_status(co);
	if (status != LUA_OK && status != LUA_YIELD) {
		status = coro_reset(L, co);	/* an error inside co */
		lua_xmove(co, L, 1);
		lua_remove(L, -2);
	}
	if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING)
		coro_add_where(L);
	return lua_error(L);
}

static int
coro_wrap(lua_State *L)
{
	lua_State *co;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	co = lua_newthread(L);
	lua_pushvalue(L, 1);
	lua_xmove(L, co, 1);
	lua_pushcclosure(L, coro_wrapped, 1);
	return 1;
}

static int
coro_close(lua_State *L)
{
	lua_State *co = coro_arg(L);
	enum coro_state st = coro_state(L, co);

	if (st != CO_DEAD && st != CO_SUSPENDED)
		return luaL_error(L, "cannot close a %s coroutine",
		    coro_state_names[st]);
	if (coro_reset(L, co) == LUA_OK) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushboolean(L, 0);
	lua_xmove(co, L, 1);
	return 2;
}

static const luaL_Reg coro_funcs[] = {
	{ "resume",	coro_resume },
	{ "wrap",	coro_wrap },
	{ "close",	coro_close },
	{ NULL,		NULL }
};

/* Replace the switching functions of the coroutine table at idx. */
void
coro_patch(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_pushvalue(L, idx);
	luaL_setfuncs(L, coro_funcs, 0);
	lua_pop(L, 1);
}
