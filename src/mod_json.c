/*
 * mod_json.c: the sandbox's json library (encode, decode, null, array). The
 * conversion rules are conv.c's, so json.encode and a rule's result agree.
 * Uses conv.c, jsonmp.c (jansson) and mod_util.c.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "conv.h"
#include "jsonmp.h"
#include "limit.h"
#include "mod.h"
#include "mod_util.h"

struct modjson_decoded {
	const char	*buf;
	size_t		 len;
	int		 failed;
	struct conv_error err;
};

static int
modjson_push_decoded(lua_State *L, void *ud)
{
	struct modjson_decoded *d = ud;

	d->failed = conv_push(L, d->buf, d->len, &d->err) < 0;
	return d->failed ? 0 : 1;
}

static int
modjson_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	struct modjson_decoded d = { 0 };
	msgpack_sbuffer sb;
	char err[256];
	int status;

	msgpack_sbuffer_init(&sb);
	if (jmp_from_json(s, n, &sb, err, sizeof err) < 0) {
		msgpack_sbuffer_destroy(&sb);
		lim_check(lim_of(L), L);	/* out of memory in jansson */
		return luaL_error(L, "json.decode: %s", err);
	}
	d.buf = sb.data;
	d.len = sb.size;
	status = mod_protect(L, modjson_push_decoded, &d);
	msgpack_sbuffer_destroy(&sb);
	if (status != LUA_OK)
		return lua_error(L);
	if (d.failed)
		return luaL_error(L, "json.decode: %s", d.err.what);
	return 1;
}

/*
 * The msgpack form is held outside the Lua state and is never longer than
 * the JSON text but by a few bytes per huge string, so it is capped by the
 * memory left: a table that holds one subtable many times (a DAG, which is
 * not a cycle) would otherwise grow it without bound, in C, unhooked.
 */
static int
modjson_encode(lua_State *L)
{
	struct lim *m = lim_of(L);
	size_t room = lim_room(m) + 1;
	struct conv_error err;
	msgpack_sbuffer sb;
	char why[sizeof err.path + sizeof err.what + 4];
	char *text = NULL;

	luaL_checkany(L, 1);
	msgpack_sbuffer_init(&sb);
	if (conv_pack(L, 1, "value", room, &sb, &err) < 0) {
		if (sb.size > room)
			lim_overrun(m);
		snprintf(why, sizeof why, "%s: %s", err.path, err.what);
	} else
		text = jmp_to_json(sb.data, sb.size, why, sizeof why);
	msgpack_sbuffer_destroy(&sb);
	if (text == NULL) {
		lim_check(m, L);
		return luaL_error(L, "json.encode: %s", why);
	}
	return mod_push_free(L, text, strlen(text));
}

static int
modjson_array(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_getmetatable(L, 1)) {
		luaL_getmetatable(L, CONV_ARRAY_MT);
		if (!lua_rawequal(L, -1, -2))
			return luaL_error(L, "json.array: the table already "
			    "has a metatable");
		lua_settop(L, 1);
		return 1;
	}
	luaL_setmetatable(L, CONV_ARRAY_MT);
	lua_settop(L, 1);
	return 1;
}

static const luaL_Reg modjson_funcs[] = {
	{ "encode",	modjson_encode },
	{ "decode",	modjson_decode },
	{ "array",	modjson_array },
	{ NULL,		NULL }
};

int
modjson_open(lua_State *L)
{
	if (luaL_newmetatable(L, CONV_ARRAY_MT)) {
		lua_pushliteral(L, "json.array");
		lua_setfield(L, -2, "__metatable");
	}
	lua_pop(L, 1);
	luaL_newlib(L, modjson_funcs);
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	return 1;
}
