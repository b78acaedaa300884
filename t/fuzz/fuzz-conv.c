/*
 * fuzz-conv.c: msgpack into a fresh sandbox state (conv_push, as a worker
 * takes an input) and the Lua value back out (conv_pack, as it returns a
 * result). conv_push accepts only what conv_check accepts; what it pushes
 * and conv_pack packs is one valid value, which pushed again gives an equal
 * Lua value (raw, the empty-array mark included) and packs again to an
 * equal msgpack value. Lua errors (memory) are caught as the worker
 * catches them.
 */
#include <string.h>

#include <lauxlib.h>

#include "conv.h"
#include "fuzz.h"
#include "limit.h"
#include "mpr.h"
#include "sandbox.h"

struct fuzz_push {
	const char		*buf;
	size_t			 len;
	struct conv_error	 err;
	int			 r;
};

static int
fuzz_push_k(lua_State *L)
{
	struct fuzz_push *p = lua_touserdata(L, 1);

	lua_settop(L, 0);
	p->r = conv_push(L, p->buf, p->len, &p->err);
	return p->r == 0 ? 1 : 0;
}

/* conv_push under lua_pcall; 1 with the value on the stack. */
static int
fuzz_push(lua_State *L, const char *buf, size_t len)
{
	struct fuzz_push p = { buf, len, { "", "" }, -1 };
	int top = lua_gettop(L);

	lua_pushcfunction(L, fuzz_push_k);
	lua_pushlightuserdata(L, &p);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK || p.r != 0) {
		lua_settop(L, top);
		return 0;
	}
	return 1;
}

static int
fuzz_same_mt(lua_State *L, int a, int b)
{
	int na = lua_getmetatable(L, a);
	int nb = lua_getmetatable(L, b);
	int eq = na == nb && (na == 0 || lua_rawequal(L, -1, -2));

	lua_pop(L, na + nb);
	return eq;
}

static size_t
fuzz_nkeys(lua_State *L, int t)
{
	size_t n = 0;

	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		n++;
	}
	return n;
}

/* Raw deep equality of the values at a and b (no cycles: they came from
 * conv_push). */
static int
fuzz_lua_equal(lua_State *L, int a, int b)
{
	int eq = 1;

	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	if (lua_type(L, a) != lua_type(L, b))
		return 0;
	if (lua_type(L, a) == LUA_TNUMBER) {
		lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);

		if (lua_isinteger(L, a) || lua_isinteger(L, b))
			return lua_isinteger(L, a) && lua_isinteger(L, b) &&
			    lua_tointeger(L, a) == lua_tointeger(L, b);
		return memcmp(&x, &y, sizeof x) == 0;
	}
	if (lua_type(L, a) != LUA_TTABLE)
		return lua_rawequal(L, a, b);
	FUZZ_ASSERT(lua_checkstack(L, 8), "Lua stack");
	if (!fuzz_same_mt(L, a, b) || fuzz_nkeys(L, a) != fuzz_nkeys(L, b))
		return 0;
	lua_pushnil(L);
	while (eq && lua_next(L, a) != 0) {
		lua_pushvalue(L, -2);
		lua_rawget(L, b);
		eq = fuzz_lua_equal(L, -2, -1);
		lua_pop(L, 2);
	}
	if (!eq)
		lua_pop(L, 1);	/* the key lua_next left */
	return eq;
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct lim_config cfg;
	struct conv_error err;
	msgpack_sbuffer a, b;
	struct lim lim;
	lua_State *L;
	int va, vb, checked = conv_check(buf, size, &err) == 0;

	lim_defaults(&cfg);
	lim_reset(&lim, &cfg);
	FUZZ_ASSERT((L = sbx_new(&lim)) != NULL, "sbx_new");
	if (!fuzz_push(L, buf, size))
		goto out;
	FUZZ_ASSERT(checked, "conv_push took what conv_check refuses: %s",
	    err.what);
	va = lua_gettop(L);
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	if (conv_pack(L, va, "result", 0, &a, &err) == 0) {
		FUZZ_ASSERT(conv_check(a.data, a.size, &err) == 0, "conv_pack "
		    "made what conv_check refuses: %s", err.what);
		FUZZ_ASSERT(fuzz_push(L, a.data, a.size), "what conv_pack "
		    "made does not push back");
		vb = lua_gettop(L);
		FUZZ_ASSERT(fuzz_lua_equal(L, va, vb), "a value pushed, packed "
		    "and pushed again differs");
		FUZZ_ASSERT(conv_pack(L, vb, "result", 0, &b, &err) == 0,
		    "a value packed once does not pack again: %s: %s",
		    err.path, err.what);
		FUZZ_ASSERT(fuzz_mp_equal(a.data, a.size, b.data, b.size),
		    "packing the value pushed back gives another value");
	}
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
out:
	lua_close(L);
	lim_log_free(&lim);
	return 0;
}

int LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	FUZZ_ASSERT(sbx_init() == 0, "sbx_init");
	return 0;
}
