/*
 * invoke.c: runs one invocation in a prepared sandbox: compile the rule
 * (text only), run its chunk, call the function it returns with the event
 * and ctx, convert the result, and report the outcome with usage figures.
 * The sandbox is closed afterwards: nothing survives into the next one.
 * Uses sandbox.c, limit.c and conv.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "conv.h"
#include "invoke.h"
#include "mod.h"
#include "mod_util.h"
#include "rcache.h"
#include "sandbox.h"

#define INV_TRACE_FRAMES	8

void
inv_outcome_init(struct inv_outcome *o)
{
	memset(o, 0, sizeof *o);
	msgpack_sbuffer_init(&o->result);
}

void
inv_outcome_free(struct inv_outcome *o)
{
	struct lim m = { .log = o->log };

	msgpack_sbuffer_destroy(&o->result);
	lim_log_free(&m);
	memset(&o->log, 0, sizeof o->log);
}

void
inv_fail(struct inv_outcome *o, enum mb_kind kind, const char *fmt, ...)
{
	va_list ap;

	o->kind = kind;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof o->message, fmt, ap);
	va_end(ap);
}

/* A fresh sandbox, built before the request so its cost is off the request
 * path. Its libraries count against the rule's memory once it runs. */
int
inv_prepare(struct inv_sandbox *s)
{
	struct lim_config c;

	lim_defaults(&c);
	c.memory = SIZE_MAX / 4;
	lim_reset(&s->lim, &c);
	s->L = sbx_new(&s->lim);
	return s->L != NULL ? 0 : -1;
}

/* The text of an error object, computed without running any of its code. */
static void
inv_error_text(lua_State *L, int idx)
{
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		lua_pushvalue(L, idx);
		return;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, idx));
		else
			lua_pushfstring(L, "%f", (LUAI_UACNUMBER)lua_tonumber(L, idx));
		return;
	case LUA_TTABLE:
		if (modcap_error_field(L, idx, "message")) {
			if (lua_type(L, -1) == LUA_TSTRING)
				return;
			lua_pop(L, 1);
		}
		lua_pushliteral(L, "message");
		if (lua_rawget(L, idx) == LUA_TSTRING)
			return;
		lua_pop(L, 1);
		/* FALLTHROUGH */
	default:
		lua_pushfstring(L, "(error object is a %s value)",
		    luaL_typename(L, idx));
	}
}

/* A capability error that reaches the top keeps its kind (denied, ...). */
static void
inv_note_kind(lua_State *L, struct lim *m)
{
	enum mb_kind k;

	if (!modcap_error_field(L, 1, "kind"))
		return;
	if (lua_type(L, -1) == LUA_TSTRING &&
	    kind_from_name(lua_tostring(L, -1), &k) == 0 && k != MB_OK)
		m->raised = k;
	lua_pop(L, 1);
}

/* Message handler: the error text and a short traceback of Lua frames. */
static int
inv_msgh(lua_State *L)
{
	struct lim *m = lim_of(L);
	luaL_Buffer b;
	lua_Debug ar;
	int frames = 0;

	if (m->hit != MB_OK)
		return 1;
	inv_note_kind(L, m);
	m->trusted = 1;
	luaL_buffinit(L, &b);		/* it may push a placeholder: first */
	inv_error_text(L, 1);
	luaL_addvalue(&b);
	for (int level = 1; frames < INV_TRACE_FRAMES &&
	    lua_getstack(L, level, &ar); level++) {
		/* Lua frames of the rule: not C, not moonbox's own wrappers
		 * (chunks named "=..."). */
		if (!lua_getinfo(L, "Sln", &ar) || ar.currentline <= 0 ||
		    ar.source[0] == '=')
			continue;
		if (frames++ == 0)
			luaL_addstring(&b, "\nstack traceback:");
		lua_pushfstring(L, "\n\t%s:%d: in ", ar.short_src,
		    ar.currentline);
		luaL_addvalue(&b);
		if (*ar.what == 'm')
			lua_pushliteral(L, "main chunk");
		else if (ar.name != NULL)
			lua_pushfstring(L, "function '%s'", ar.name);
		else
			lua_pushfstring(L, "function <%s:%d>", ar.short_src,
			    ar.linedefined);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	m->trusted = 0;
	return 1;
}

/* After a failed call: which kind, and its message. */
static void
inv_failed(lua_State *L, struct lim *m, int status, enum mb_kind kind,
    struct inv_outcome *o)
{
	char msg[128];
	const char *s;

	m->trusted = 0;
	if (m->hit == MB_OK && m->expired)
		m->hit = MB_TIMEOUT;
	if (m->hit != MB_OK) {
		inv_fail(o, m->hit, "%s", lim_describe(m, msg, sizeof msg));
		return;
	}
	if (status == LUA_ERRMEM) {
		inv_fail(o, MB_MEMORY, "out of memory");
		return;
	}
	if (kind == MB_RUNTIME && m->raised != MB_OK)
		kind = m->raised;
	s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	inv_fail(o, kind, "%s", s != NULL ? s : "error while reporting an error");
}

struct inv_args {
	const struct inv_request	*req;
	struct conv_error		 err;
	int				 bad;
};

/* Push event and ctx; run under mod_protect so a memory error while
 * converting the input is caught like any other. */
static int
inv_push_args(lua_State *L, void *ud)
{
	struct inv_args *a = ud;

	if (a->req->input == NULL)
		lua_pushnil(L);
	else if (conv_push(L, a->req->input, a->req->input_len, &a->err) < 0) {
		a->bad = 1;
		return 0;
	}
	lua_createtable(L, 0, 2);
	lua_pushstring(L, a->req->rule);
	lua_setfield(L, -2, "rule");
	lua_pushstring(L, a->req->id != NULL ? a->req->id : "");
	lua_setfield(L, -2, "invocation");
	return 2;
}

/* Compile, run the chunk, call its function. On success the result is on
 * the top of the stack and 0 is returned. */
static int
inv_call(lua_State *L, struct lim *m, const struct inv_request *req,
    struct inv_outcome *o)
{
	struct inv_args args = { .req = req };
	int status;

	lua_pushcfunction(L, inv_msgh);				/* 1 */
	status = rcache_load(L, req->rule, req->source, req->source_len,
	    req->chunkname);
	if (status != LUA_OK)
		return inv_failed(L, m, status, MB_SYNTAX, o), -1;
	if ((status = lua_pcall(L, 0, 1, 1)) != LUA_OK)
		return inv_failed(L, m, status, MB_RUNTIME, o), -1;
	if (lua_type(L, -1) != LUA_TFUNCTION) {			/* 2 */
		inv_fail(o, MB_RUNTIME, "%s: the rule must return a function "
		    "(it returned a %s value)", req->chunkname + 1,
		    luaL_typename(L, -1));
		return -1;
	}
	/* The input: a conversion fault is the request's, not the rule's. */
	status = mod_protect(L, inv_push_args, &args);
	if (status != LUA_OK)
		return inv_failed(L, m, status, MB_RUNTIME, o), -1;
	if (args.bad) {
		inv_fail(o, MB_BAD_REQUEST, "%s: %s", args.err.path,
		    args.err.what);
		return -1;
	}
	if ((status = lua_pcall(L, 2, 1, 1)) != LUA_OK)
		return inv_failed(L, m, status, MB_RUNTIME, o), -1;
	return 0;
}

/* A limit hit in the rule's last moments (a tail call into a library
 * function leaves no next instruction for the hook) still fails it. */
static int
inv_limit_hit(struct lim *m, struct inv_outcome *o)
{
	char msg[128];

	if (m->hit == MB_OK && m->expired)
		m->hit = MB_TIMEOUT;
	if (m->hit == MB_OK)
		return 0;
	inv_fail(o, m->hit, "%s", lim_describe(m, msg, sizeof msg));
	return 1;
}

void
inv_run(struct inv_sandbox *s, const struct inv_request *req,
    struct inv_outcome *o)
{
	lua_State *L = s->L;
	struct lim *m = &s->lim;
	struct conv_error err;
	size_t base = m->used;

	m->cfg = req->limits;
	m->left = req->limits.instructions;
	o->kind = MB_OK;
	if (req->limits.instructions > 0 && !lim_can_count()) {
		inv_fail(o, MB_INTERNAL, "instruction budgets are not "
		    "available with this Lua library; use a timeout");
	} else if (base > m->cfg.memory) {
		inv_fail(o, MB_MEMORY, "memory limit of %zu bytes is below "
		    "the %zu bytes the sandbox itself needs", m->cfg.memory,
		    base);
	} else if (lim_start(m, L) < 0) {
		inv_fail(o, MB_INTERNAL, "cannot arm the deadline timer");
	} else {
		m->peak = m->used;
		if (inv_call(L, m, req, o) == 0 && !inv_limit_hit(m, o) &&
		    conv_pack(L, -1, "result", m->cfg.output, &o->result,
		    &err) < 0)
			inv_fail(o, MB_OUTPUT, "%s: %s", err.path, err.what);
		lim_stop(m);
	}
	o->counted = req->limits.instructions > 0;
	o->instructions = m->counted;
	o->calls = m->calls;
	o->memory = m->peak;
	o->cpu_ms = m->cpu_ms;
	o->wall_ms = m->wall_ms;
	o->log = m->log;
	memset(&m->log, 0, sizeof m->log);
	o->has_seed = sbx_seed(L, o->seed) == 0;
}

/* After the answer is out: the used state goes, off the request path. */
void
inv_discard(struct inv_sandbox *s)
{
	if (s->L != NULL)
		lua_close(s->L);
	s->L = NULL;
}
