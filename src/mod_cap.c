/*
 * mod_cap.c: the one C call under the capability modules (log, kv, http,
 * secrets, time; their Lua wrappers are lua-stdlib/cap.lua). A call is one
 * PROTO_CAP_CALL to the broker on the worker's broker channel, and a wait
 * for its PROTO_CAP_REPLY within what is left of the invocation's deadline.
 * The broker knows who is calling from the channel; nothing the rule says
 * names it. A refused or failed call raises an error object whose kind a
 * rule can read but not forge or change. Uses msg.c, chan.c, conv.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "chan.h"
#include "conv.h"
#include "embedded.h"
#include "limit.h"
#include "mod.h"
#include "mod_util.h"
#include "mpr.h"
#include "msg.h"
#include "rcache.h"

#define MODCAP_MAX_ARGS	8

static int modcap_fd = -1;
static uint64_t modcap_seq;
static modcap_handler modcap_local;	/* in place of the broker */
static void *modcap_local_ud;
static const char modcap_marker;	/* its address marks our errors */

void
modcap_set_channel(int fd)
{
	modcap_fd = fd;
}

void
modcap_set_handler(modcap_handler h, void *ud)
{
	modcap_local = h;
	modcap_local_ud = ud;
}

static int
modcap_err_tostring(lua_State *L)
{
	lua_getfield(L, 1, "message");
	return 1;
}

static int
modcap_err_readonly(lua_State *L)
{
	return luaL_error(L, "a capability error cannot be changed");
}

/* Raise {kind, message, capability} as a read-only object: the fields live
 * in its metatable, which the rule cannot reach. */
static int
modcap_raise(lua_State *L, enum mb_kind k, const char *cap, const char *msg,
    size_t len)
{
	lua_newtable(L);				/* the error */
	lua_createtable(L, 0, 5);			/* its metatable */
	lua_createtable(L, 0, 3);			/* its fields */
	lua_pushstring(L, kind_name(k));
	lua_setfield(L, -2, "kind");
	lua_pushlstring(L, msg, len);
	lua_setfield(L, -2, "message");
	lua_pushstring(L, cap);
	lua_setfield(L, -2, "capability");
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, modcap_err_readonly);
	lua_setfield(L, -2, "__newindex");
	lua_pushcfunction(L, modcap_err_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "capability error");
	lua_setfield(L, -2, "__metatable");
	lua_pushboolean(L, 1);
	lua_rawsetp(L, -2, &modcap_marker);
	lua_setmetatable(L, -2);
	return lua_error(L);
}

/* Whether the value at idx is one of our errors; if so push its field. */
int
modcap_error_field(lua_State *L, int idx, const char *field)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return 0;
	if (lua_rawgetp(L, -1, &modcap_marker) != LUA_TBOOLEAN) {
		lua_pop(L, 2);
		return 0;
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "__index");
	lua_getfield(L, -1, field);
	lua_replace(L, -3);
	lua_pop(L, 1);
	return 1;
}

/* The wait: what is left of the deadline, in ms (at least 1). */
static int
modcap_wait_ms(const struct lim *m)
{
	struct timespec t;
	double spent, left;

	clock_gettime(CLOCK_MONOTONIC, &t);
	spent = (t.tv_sec - m->wall0.tv_sec) * 1e3 +
	    (t.tv_nsec - m->wall0.tv_nsec) / 1e6;
	left = (double)m->cfg.timeout_us / 1000 - spent;
	return left < 1 ? 1 : left > 3600000 ? 3600000 : (int)left + 1;
}

struct modcap_out {
	msgpack_sbuffer	 sb;
	int		 top;	/* the last argument */
	char		 err[sizeof(((struct conv_error *)0)->path) + 200];
};

/* [700, seq, cap, method, args] with the arguments 3..top converted. */
static int
modcap_pack(lua_State *L, struct modcap_out *o, const char *cap,
    const char *method)
{
	struct conv_error ce;
	msgpack_packer pk;
	int nargs = o->top - 2;

	msg_cap_call_begin(&o->sb, &pk, ++modcap_seq, cap, method,
	    (uint32_t)nargs);
	for (int i = 3; i <= o->top; i++) {
		if (conv_pack(L, i, "argument", 0, &o->sb, &ce) < 0) {
			snprintf(o->err, sizeof o->err, "%s.%s: %s: %s", cap,
			    method, ce.path, ce.what);
			return -1;
		}
	}
	if (msg_finish(&o->sb) < 0) {
		snprintf(o->err, sizeof o->err, "%s.%s: the arguments are too "
		    "large", cap, method);
		return -1;
	}
	return 0;
}

/* The reply, pushed under mod_protect so the frame is freed whatever
 * happens. */
struct modcap_rx {
	const char	*frame;
	size_t		 len;
	const char	*cap;
};

static int
modcap_push_reply(lua_State *L, void *ud)
{
	struct modcap_rx *rx = ud;
	struct msg_cap_reply rep;
	struct conv_error ce;
	struct mpr r;

	mpr_init(&r, rx->frame, rx->len);
	if (msg_cap_reply_decode(&r, &rep) < 0 || rep.seq != modcap_seq) {
		close(modcap_fd);
		modcap_fd = -1;
		return modcap_raise(L, MB_INTERNAL, rx->cap, "the broker "
		    "answered out of protocol", 34);
	}
	if (rep.kind != MB_OK)
		return modcap_raise(L, rep.kind, rx->cap, rep.message.p,
		    rep.message.n);
	if (conv_push(L, rep.value.p, rep.value.n, &ce) < 0)
		return luaL_error(L, "%s: the answer cannot be used: %s",
		    rx->cap, ce.what);
	return 1;
}

/* Send the packed call and wait for the answer frame. 1 with a frame,
 * 0 when the broker is gone, -1 when the deadline passed. No Lua here. */
static int
modcap_roundtrip(struct lim *m, msgpack_sbuffer *sb, char **frame,
    size_t *len)
{
	int st;

	if (modcap_local != NULL) {
		*frame = modcap_local(modcap_local_ud, sb->data +
		    PROTO_FRAME_HEADER, sb->size - PROTO_FRAME_HEADER, len);
		return *frame != NULL;
	}
	if (modcap_fd < 0 || chan_send(modcap_fd, sb->data, sb->size) < 0)
		return 0;
	st = chan_recv(modcap_fd, frame, len, modcap_wait_ms(m));
	if (st == 1)
		return 1;
	if (st < 0 && errno == ETIMEDOUT)
		return -1;
	close(modcap_fd);
	modcap_fd = -1;
	return 0;
}

/* call(capability, method, ...): the upvalue of every wrapper. */
static int
modcap_call(lua_State *L)
{
	struct lim *m = lim_of(L);
	const char *cap = luaL_checkstring(L, 1);
	const char *method = luaL_checkstring(L, 2);
	struct modcap_rx rx = { NULL, 0, cap };
	struct modcap_out o;
	char *frame;
	int st;

	lim_check(m, L);
	if (lua_gettop(L) - 2 > MODCAP_MAX_ARGS)
		return luaL_error(L, "%s.%s: too many arguments", cap, method);
	if (m->calls >= m->cfg.calls) {
		snprintf(o.err, sizeof o.err, "the invocation made its %llu "
		    "capability calls (the calls limit)",
		    (unsigned long long)m->cfg.calls);
		return modcap_raise(L, MB_DENIED, cap, o.err, strlen(o.err));
	}
	m->calls++;
	o.top = lua_gettop(L);
	msgpack_sbuffer_init(&o.sb);
	if (modcap_pack(L, &o, cap, method) < 0) {
		msgpack_sbuffer_destroy(&o.sb);
		return luaL_error(L, "%s", o.err);
	}
	st = modcap_roundtrip(m, &o.sb, &frame, &rx.len);
	msgpack_sbuffer_destroy(&o.sb);
	if (st < 0) {
		m->expired = 1;
		lim_check(m, L);
	}
	if (st == 0)
		return modcap_raise(L, MB_INTERNAL, cap, "the broker is not "
		    "available", 28);
	rx.frame = frame;
	st = mod_protect(L, modcap_push_reply, &rx);
	free(frame);
	if (st != LUA_OK)
		return lua_error(L);
	lim_check(m, L);
	return 1;
}

/* append(level, message): the invocation's own copy of a log line. */
static int
modcap_append_log(lua_State *L)
{
	const char *level = luaL_checkstring(L, 1);
	const char *msg = luaL_checkstring(L, 2);

	lua_pushfstring(L, "[%s] %s", level, msg);
	lim_log_append(lim_of(L), lua_tostring(L, -1), lua_rawlen(L, -1));
	return 0;
}

/* __index of the capability proxies: load cap.lua once, fill them all. */
static int
modcap_load(lua_State *L)
{
	static const char *const names[] = {
		"log", "kv", "http", "secrets", "time", NULL
	};
	const struct embedded *e = embedded_find("cap");
	int base;

	/* Compiled once per worker and kept, as rules are (about 90 us of
	 * parsing saved on each invocation that calls a capability). */
	if (e == NULL || rcache_load(L, "=cap", e->source, e->len, "=cap")
	    != LUA_OK)
		return luaL_error(L, "capabilities unavailable");
	lua_pushcfunction(L, modcap_call);
	lua_pushcfunction(L, modcap_append_log);
	lua_call(L, 2, 5);
	base = lua_gettop(L) - 4;
	for (int i = 0; names[i] != NULL; i++) {
		int mod = base + i;

		lua_getglobal(L, names[i]);
		if (lua_type(L, -1) == LUA_TTABLE && lua_getmetatable(L, -1)) {
			lua_pop(L, 1);
			lua_pushnil(L);
			while (lua_next(L, mod) != 0) {
				lua_pushvalue(L, -2);
				lua_insert(L, -2);
				lua_rawset(L, -4);
			}
			lua_pushnil(L);
			lua_setmetatable(L, -2);
		}
		lua_pop(L, 1);
	}
	lua_settop(L, 2);
	lua_rawget(L, 1);
	return 1;
}

/* The five globals, each an empty table that loads them all when read. */
void
modcap_install(lua_State *L)
{
	static const char *const names[] = {
		"log", "kv", "http", "secrets", "time", NULL
	};

	lua_createtable(L, 0, 2);		/* a shared metatable */
	lua_pushcfunction(L, modcap_load);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "capability");
	lua_setfield(L, -2, "__metatable");
	for (int i = 0; names[i] != NULL; i++) {
		lua_newtable(L);
		lua_pushvalue(L, -2);
		lua_setmetatable(L, -2);
		lua_setglobal(L, names[i]);
	}
	lua_pop(L, 1);
}
