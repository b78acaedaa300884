/*
 * conv.c: Lua values to msgpack and back. The walk out uses raw access and
 * only ancestors for cycle detection (nesting is capped), so it runs no rule
 * code, allocates nothing in the Lua state and cannot raise a Lua error.
 * In a sandbox it stops at the sandbox's limits (limit.h). Uses msgpack-c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "conv.h"
#include "limit.h"
#include "mpr.h"
#include "utf8.h"

struct conv_out {
	lua_State		*L;
	msgpack_packer		 pk;
	msgpack_sbuffer		*sb;
	size_t			 limit;
	struct lim		*m;		/* the sandbox's, or NULL */
	const void		*ancestors[LIM_MAX_DEPTH + 1];
	char			*path;
	size_t			 pathlen;
	struct conv_error	*err;
};

static int
conv_fail(struct conv_out *o, const char *what)
{
	snprintf(o->err->what, sizeof o->err->what, "%s", what);
	return -1;
}

/* The first bytes of valid UTF-8 text, at most max, cut between characters:
 * the path goes into messages that must stay valid UTF-8 (JSON). */
static int
conv_utf8_prefix(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return (int)n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

/* Append a path step for the key at the top of the stack; return the old
 * length to restore. */
static size_t
conv_path_push(struct conv_out *o, int keyidx)
{
	size_t old = strlen(o->path), room = o->pathlen - old;
	lua_State *L = o->L;
	int r;

	if (lua_type(L, keyidx) == LUA_TNUMBER && lua_isinteger(L, keyidx)) {
		r = snprintf(o->path + old, room, "[%lld]",
		    (long long)lua_tointeger(L, keyidx));
	} else if (lua_type(L, keyidx) == LUA_TSTRING) {
		size_t n;
		const char *k = lua_tolstring(L, keyidx, &n);
		int ident = n > 0 && n < 64 && !(k[0] >= '0' && k[0] <= '9');

		for (size_t i = 0; ident && i < n; i++)
			ident = (k[i] >= 'a' && k[i] <= 'z') ||
			    (k[i] >= 'A' && k[i] <= 'Z') ||
			    (k[i] >= '0' && k[i] <= '9') || k[i] == '_';
		if (ident)
			r = snprintf(o->path + old, room, ".%.*s", (int)n, k);
		else if (utf8_valid(k, n))
			r = snprintf(o->path + old, room, "[\"%.*s\"]",
			    conv_utf8_prefix(k, n, 32), k);
		else
			r = snprintf(o->path + old, room, "[\"?\"]");
	} else {
		r = snprintf(o->path + old, room, "[%s]",
		    luaL_typename(L, keyidx));
	}
	/* A full buffer may have cut a character in two: drop its bytes. */
	for (size_t n = o->pathlen - 1; r >= 0 && (size_t)r >= room && n > old &&
	    !utf8_valid(o->path + old, n - old); n--)
		o->path[n - 1] = '\0';
	return old;
}

static int conv_pack_value(struct conv_out *, int, int);

/* The limits of the sandbox that owns L, if L is a sandbox's state. */
static struct lim *
conv_lim(lua_State *L)
{
	void *ud;

	return lua_getallocf(L, &ud) == lim_alloc ? ud : NULL;
}

/*
 * Stop at the output limit; in a sandbox, also at its deadline and, with no
 * output limit, at its memory limit: a table holding the same subtable twice
 * at each of 40 levels packs to 2^40 copies, in C where neither the count
 * hook nor the allocator sees it.
 */
static int
conv_check_size(struct conv_out *o)
{
	const struct lim *m = o->m;
	char what[96];

	if (o->limit > 0 && o->sb->size > o->limit) {
		snprintf(what, sizeof what,
		    "value is larger than the output limit of %zu bytes",
		    o->limit);
		return conv_fail(o, what);
	}
	if (m == NULL)
		return 0;
	if (m->expired)
		return conv_fail(o, "the deadline passed while converting");
	if (o->limit == 0 && (m->used > m->cfg.memory ||
	    o->sb->size > m->cfg.memory - m->used)) {
		snprintf(what, sizeof what, "value is larger than the memory "
		    "limit of %zu bytes leaves room for", m->cfg.memory);
		return conv_fail(o, what);
	}
	return 0;
}

/* Count the keys of the table at idx; tell whether they are 1..n. */
static int
conv_table_shape(struct conv_out *o, int idx, size_t *nkeys, int *is_array)
{
	lua_State *L = o->L;
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	size_t count = 0, in_range = 0;

	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		count++;
		if (lua_type(L, -1) == LUA_TNUMBER && lua_isinteger(L, -1) &&
		    lua_tointeger(L, -1) >= 1 && lua_tointeger(L, -1) <= n)
			in_range++;
	}
	*nkeys = count;
	*is_array = n > 0 && (size_t)n == count && in_range == count;
	if (count == 0 && lua_getmetatable(L, idx)) {
		luaL_getmetatable(L, CONV_ARRAY_MT);
		*is_array = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
	}
	return 0;
}

static int
conv_pack_table(struct conv_out *o, int idx, int depth)
{
	lua_State *L = o->L;
	size_t nkeys, old;
	int is_array;

	for (int d = 0; d < depth; d++)
		if (o->ancestors[d] == lua_topointer(L, idx))
			return conv_fail(o, "table contains itself (a cycle)");
	if (depth >= LIM_MAX_DEPTH)
		return conv_fail(o, "nesting is deeper than 64 levels");
	if (!lua_checkstack(L, 4))
		return conv_fail(o, "out of stack space");
	o->ancestors[depth] = lua_topointer(L, idx);
	conv_table_shape(o, idx, &nkeys, &is_array);
	if (is_array) {
		msgpack_pack_array(&o->pk, nkeys);
		for (size_t i = 1; i <= nkeys; i++) {
			lua_pushinteger(L, (lua_Integer)i);
			old = conv_path_push(o, -1);
			lua_pop(L, 1);
			lua_rawgeti(L, idx, (lua_Integer)i);
			if (conv_pack_value(o, lua_gettop(L), depth + 1) < 0)
				return -1;
			lua_pop(L, 1);
			o->path[old] = '\0';
		}
		return 0;
	}
	msgpack_pack_map(&o->pk, nkeys);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		int kt = lua_type(L, -2);

		old = conv_path_push(o, -2);
		if (kt == LUA_TSTRING) {
			size_t n;
			const char *k = lua_tolstring(L, -2, &n);

			if (!utf8_valid(k, n))
				return conv_fail(o, "key is not valid UTF-8");
			msgpack_pack_str_with_body(&o->pk, k, n);
		} else if (kt == LUA_TNUMBER && lua_isinteger(L, -2)) {
			msgpack_pack_int64(&o->pk, lua_tointeger(L, -2));
		} else {
			char what[96];

			snprintf(what, sizeof what, "a %s key cannot be "
			    "converted (keys are strings or integers)",
			    luaL_typename(L, -2));
			return conv_fail(o, what);
		}
		if (conv_pack_value(o, lua_gettop(L), depth + 1) < 0)
			return -1;
		lua_pop(L, 1);
		o->path[old] = '\0';
	}
	return 0;
}

static int
conv_pack_value(struct conv_out *o, int idx, int depth)
{
	lua_State *L = o->L;
	char what[96];

	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		msgpack_pack_nil(&o->pk);
		break;
	case LUA_TBOOLEAN:
		if (lua_toboolean(L, idx))
			msgpack_pack_true(&o->pk);
		else
			msgpack_pack_false(&o->pk);
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			msgpack_pack_int64(&o->pk, lua_tointeger(L, idx));
		} else {
			double d = lua_tonumber(L, idx);

			if (isnan(d) || isinf(d))
				return conv_fail(o, isnan(d) ? "NaN cannot be "
				    "converted" : "infinity cannot be converted");
			msgpack_pack_double(&o->pk, d);
		}
		break;
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);

		if (!utf8_valid(s, n))
			return conv_fail(o, "string is not valid UTF-8 "
			    "(encode bytes with base64)");
		msgpack_pack_str_with_body(&o->pk, s, n);
		break;
	}
	case LUA_TTABLE:
		if (conv_pack_table(o, idx, depth) < 0)
			return -1;
		break;
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == NULL) {	/* json.null */
			msgpack_pack_nil(&o->pk);
			break;
		}
		/* FALLTHROUGH */
	default:
		snprintf(what, sizeof what, "a %s cannot be converted",
		    luaL_typename(L, idx));
		return conv_fail(o, what);
	}
	return conv_check_size(o);
}

int
conv_pack(lua_State *L, int idx, const char *root, size_t limit,
    msgpack_sbuffer *sb, struct conv_error *err)
{
	struct conv_out o;
	int top = lua_gettop(L), r;

	memset(&o, 0, sizeof o);
	o.L = L;
	o.sb = sb;
	o.limit = limit;
	o.m = conv_lim(L);
	o.err = err;
	o.path = err->path;
	o.pathlen = sizeof err->path;
	snprintf(err->path, sizeof err->path, "%s", root);
	err->what[0] = '\0';
	msgpack_packer_init(&o.pk, sb, msgpack_sbuffer_write);
	r = conv_pack_value(&o, lua_absindex(L, idx), 0);
	lua_settop(L, top);
	return r;
}

/* In: msgpack to Lua, read strictly with mpr.c. */

static int
conv_in_fail(struct conv_error *err, const char *what)
{
	snprintf(err->what, sizeof err->what, "%s", what);
	return -1;
}

static int conv_push_value(lua_State *, struct mpr *, int,
    struct conv_error *);

static int
conv_push_key(lua_State *L, struct mpr *r, struct conv_error *err)
{
	struct mpr_item it;

	if (mpr_next(r, &it) < 0)
		return conv_in_fail(err, r->err);
	switch (it.type) {
	case MPR_STR:
		lua_pushlstring(L, it.v.s.p, it.v.s.n);
		return 0;
	case MPR_INT:
		lua_pushinteger(L, (lua_Integer)it.v.i);
		return 0;
	case MPR_UINT:
		return conv_in_fail(err, "integer key out of range");
	default:
		return conv_in_fail(err, "map keys must be strings or integers");
	}
}

static int
conv_push_container(lua_State *L, struct mpr *r, const struct mpr_item *it,
    int depth, struct conv_error *err)
{
	uint32_t n = it->v.n;

	if (depth >= LIM_MAX_DEPTH)
		return conv_in_fail(err, "nesting is deeper than 64 levels");
	if (it->type == MPR_ARRAY) {
		lua_createtable(L, (int)(n > INT32_MAX ? 0 : n), 0);
		if (n == 0)
			luaL_setmetatable(L, CONV_ARRAY_MT);
		for (uint32_t i = 0; i < n; i++) {
			if (conv_push_value(L, r, depth + 1, err) < 0)
				return lua_pop(L, 1), -1;
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		return 0;
	}
	lua_createtable(L, 0, (int)(n > INT32_MAX ? 0 : n));
	for (uint32_t i = 0; i < n; i++) {
		if (conv_push_key(L, r, err) < 0)
			return lua_pop(L, 1), -1;
		if (conv_push_value(L, r, depth + 1, err) < 0)
			return lua_pop(L, 2), -1;
		lua_rawset(L, -3);
	}
	return 0;
}

static int
conv_push_value(lua_State *L, struct mpr *r, int depth,
    struct conv_error *err)
{
	struct mpr_item it;

	if (!lua_checkstack(L, 3))
		return conv_in_fail(err, "out of stack space");
	if (mpr_next(r, &it) < 0)
		return conv_in_fail(err, r->err);
	switch (it.type) {
	case MPR_NIL:
		if (depth == 0)
			lua_pushnil(L);
		else
			lua_pushlightuserdata(L, NULL);	/* json.null */
		return 0;
	case MPR_BOOL:
		lua_pushboolean(L, it.v.b);
		return 0;
	case MPR_INT:
		lua_pushinteger(L, (lua_Integer)it.v.i);
		return 0;
	case MPR_UINT:
		return conv_in_fail(err, "integer out of range");
	case MPR_FLOAT:
		lua_pushnumber(L, (lua_Number)it.v.f);
		return 0;
	case MPR_STR:
	case MPR_BIN:
		lua_pushlstring(L, it.v.s.p, it.v.s.n);
		return 0;
	case MPR_ARRAY:
	case MPR_MAP:
		return conv_push_container(L, r, &it, depth, err);
	default:
		return conv_in_fail(err, "msgpack extension types are not "
		    "accepted");
	}
}

int
conv_check(const char *buf, size_t len, struct conv_error *err)
{
	struct mpr r;

	snprintf(err->path, sizeof err->path, "input");
	err->what[0] = '\0';
	mpr_init(&r, buf, len);
	if (mpr_skip(&r, LIM_MAX_DEPTH) < 0 || mpr_end(&r) < 0)
		return conv_in_fail(err, strcmp(r.err, "nesting is too deep")
		    == 0 ? "nesting is deeper than 64 levels" : r.err);
	return 0;
}

int
conv_push(lua_State *L, const char *buf, size_t len, struct conv_error *err)
{
	struct mpr r;

	if (conv_check(buf, len, err) < 0)
		return -1;
	mpr_init(&r, buf, len);
	return conv_push_value(L, &r, 0, err);
}
