/*
 * tester_work.c: a worker of `moonbox test`, one test file's life. It
 * contains itself (contain.c) before it runs any of the file, loads the
 * file in a fresh sandbox to list its tests, then runs each test it is
 * asked for in a fresh sandbox of its own: the test API (lua-stdlib/
 * test.lua) over the C half here. A test invokes a rule in a third fresh
 * sandbox, through inv_prepare/inv_run/inv_discard as the daemon's worker
 * does; while the rule runs, the test's own limits are paused and its
 * deadline keeps running. Failures are recorded in C with the test file's
 * line, computed from the call stack (the sandbox has no debug library).
 * Uses contain.c, invoke.c, sandbox.c, conv.c, units.c, tester_mock.c,
 * tester_cov.c, tester_msg.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "chan.h"
#include "contain.h"
#include "conv.h"
#include "embedded.h"
#include "invoke.h"
#include "mod_util.h"
#include "mpr.h"
#include "msg.h"
#include "runner.h"
#include "runopt.h"
#include "sandbox.h"
#include "tester.h"
#include "units.h"

#define TW_WHERE_MAX	512
#define TW_MAX_FAILS	50	/* recorded per test */
#define TW_MAX_INPUT	(16u << 20)	/* an event, as moonbox run takes */
#define TW_COUNT_ALL	UINT64_MAX	/* an instruction budget that only
					 * counts */
#define TW_API_KEY	"moonbox.test.api"

/* Exit statuses, for the parent's messages. */
enum {
	TW_EXIT_DONE = 0,
	TW_EXIT_CONTAIN = 70,
	TW_EXIT_CHANNEL = 71,
	TW_EXIT_PROTOCOL = 72,
	TW_EXIT_SANDBOX = 73,
};

struct tw_rule {
	char	*name;
	char	*src;		/* NULL: there is no such rule */
	size_t	 len;
};

static struct tw {
	const struct tst_opts	*o;
	const struct tst_file	*f;
	int			 chan;
	char			 chunk[4096 + 2];	/* "@path" of the file */
	msgpack_sbuffer		 out;
	struct lim		 lim;		/* the test's own sandbox */
	struct timespec		 deadline;
	/* The test that runs. */
	char			*fails[TW_MAX_FAILS];
	size_t			 nfails;
	unsigned		 more_fails;
	char			 hit_where[TW_WHERE_MAX];
	struct tst_usage	 usage;
	char			**log;
	size_t			 nlog, logbytes, logcap;
	unsigned		 ninvoke;
	char			**names;	/* of the tests, as listed */
	size_t			 nnames;
	/* Rules got from the parent. */
	struct tw_rule		*rules;
	size_t			 nrules;
} W;

static const char tw_stop_key;	/* its address: the stop sentinel */

static void __attribute__((noreturn))
tw_exit(int status)
{
	_exit(status);
}

static void
tw_send(void)
{
	if (chan_send(W.chan, W.out.data, W.out.size) < 0)
		tw_exit(TW_EXIT_CHANNEL);
}

/* The next frame, which must be of type t. */
static char *
tw_recv(enum tst_msg t, size_t *len)
{
	enum proto_type type;
	char *buf;
	int r = chan_recv(W.chan, &buf, len, -1);

	if (r <= 0)
		tw_exit(r == 0 ? TW_EXIT_DONE : TW_EXIT_CHANNEL);
	if (msg_type(buf, *len, &type) < 0 || (int)type != (int)t)
		tw_exit(TW_EXIT_PROTOCOL);
	return buf;
}

static double
tw_ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1e3 + (t->tv_nsec - now.tv_nsec) / 1e6;
}

/* --- where, failures, errors --------------------------------------------- */

/* The innermost frame of the test file: "path:line" into buf; the line,
 * or 0 (and buf the path) when the file is not on the stack. Also its
 * short_src, for errors that carry it. */
static int
tw_frame(lua_State *L, int level, char *buf, size_t n, lua_Debug *ar)
{
	for (; lua_getstack(L, level, ar); level++) {
		if (!lua_getinfo(L, "Sl", ar) || ar->currentline <= 0 ||
		    strcmp(ar->source, W.chunk) != 0)
			continue;
		snprintf(buf, n, "%s:%d", W.f->path, ar->currentline);
		return ar->currentline;
	}
	snprintf(buf, n, "%s", W.f->path);
	ar->short_src[0] = '\0';
	return 0;
}

int
tw_where(lua_State *L, char *buf, size_t n)
{
	lua_Debug ar;

	return tw_frame(L, 0, buf, n, &ar);
}

/* Raise "path:line: message" from a function of the test API. */
int
tw_error(lua_State *L, const char *fmt, ...)
{
	char where[TW_WHERE_MAX], msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tw_where(L, where, sizeof where);
	lua_pushfstring(L, "%s: %s", where, msg);
	return lua_error(L);
}

/* A failure of the test that runs, at where ("" for none). */
void
tw_failure(const char *where, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	char *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (W.nfails >= TW_MAX_FAILS) {
		W.more_fails++;
		return;
	}
	if (asprintf(&s, "%s%s%s", where, *where != '\0' ? ": " : "", msg) < 0)
		return;
	W.fails[W.nfails++] = s;
}

/* The text of an error value, without running any of its code. */
static const char *
tw_error_text(lua_State *L, int idx, size_t *n)
{
	if (lua_type(L, idx) == LUA_TSTRING)
		return lua_tolstring(L, idx, n);
	if (lua_type(L, idx) == LUA_TNUMBER) {
		lua_pushvalue(L, idx);
		return lua_tolstring(L, -1, n);
	}
	if (lua_type(L, idx) == LUA_TTABLE) {
		lua_pushliteral(L, "message");
		if (lua_rawget(L, idx) == LUA_TSTRING)
			return lua_tolstring(L, -1, n);
		lua_pop(L, 1);
	}
	lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
	return lua_tolstring(L, -1, n);
}

/*
 * The message handler of every protected call of the test: record the
 * error as a failure at the test file's line (an expect() failure is
 * recorded already and raises the stop sentinel). After a limit hit only
 * the line is kept: the runner says which limit.
 */
static int
tw_msgh(lua_State *L)
{
	char where[TW_WHERE_MAX];
	const char *msg;
	lua_Debug ar;
	size_t n, sl;
	int line;

	lua_rawgetp(L, LUA_REGISTRYINDEX, &tw_stop_key);
	if (lua_rawequal(L, 1, -1))
		return lua_settop(L, 1), 1;
	W.lim.trusted = 1;
	line = tw_frame(L, 1, where, sizeof where, &ar);
	if (W.lim.hit != MB_OK || W.lim.expired) {
		if (line > 0 && W.hit_where[0] == '\0')
			snprintf(W.hit_where, sizeof W.hit_where, "%s", where);
		W.lim.trusted = 0;
		return lua_settop(L, 1), 1;
	}
	msg = tw_error_text(L, 1, &n);
	sl = strlen(ar.short_src);
	if (sl > 0 && n > sl && strncmp(msg, ar.short_src, sl) == 0 &&
	    msg[sl] == ':') {		/* "src:line: " is said by where */
		const char *p = msg + sl + 1;

		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == ':' && p[1] == ' ')
			msg = p + 2;
	}
	tw_failure(where, "%s", msg);
	W.lim.trusted = 0;
	return lua_settop(L, 1), 1;
}

/* T.pcall(fn): call fn with tw_msgh as the handler, which also runs after
 * a limit is hit (unlike a rule's handler in xpcall), so a limit's failure
 * gets the line where the test was. true, or false after an error. */
static int
tw_l_pcall(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_pushcfunction(L, tw_msgh);
	lua_insert(L, 1);
	lua_pushboolean(L, lua_pcall(L, 0, 0, 1) == LUA_OK);
	return 1;
}

/* --- log lines ----------------------------------------------------------- */

static void
tw_keep_line(const char *prefix, const char *s, size_t n)
{
	char *line, **v;

	if (W.logbytes + n > TST_LOG_KEEP || n > TST_LOG_KEEP)
		return;
	if (W.nlog == W.logcap) {
		size_t cap = W.logcap ? W.logcap * 2 : 16;

		if ((v = realloc(W.log, cap * sizeof *v)) == NULL)
			return;
		W.log = v;
		W.logcap = cap;
	}
	if (asprintf(&line, "%s%.*s", prefix, (int)n, s) < 0)
		return;
	for (char *p = line; *p != '\0'; p++)	/* one line each */
		if (*p == '\n')
			*p = ' ';
	W.log[W.nlog++] = line;
	W.logbytes += n;
}

/* Copy the log of m into the test's lines, each after prefix; empty it if
 * it is the test's own. */
static void
tw_take_log(struct lim *m, const char *prefix, int empty)
{
	const char *s;
	size_t at = 0, n;

	while (lim_log_next(m, &at, &s, &n))
		tw_keep_line(prefix, s, strnlen(s, n));
	if (m->log.dropped > 0) {
		char msg[80];

		snprintf(msg, sizeof msg, "(%u lines dropped over the log "
		    "limit)", m->log.dropped);
		tw_keep_line(prefix, msg, strlen(msg));
	}
	if (empty)
		lim_log_free(m);
}

/* --- rules from the parent ----------------------------------------------- */

static struct tw_rule *
tw_rule_fetch(const char *name)
{
	struct tw_rule *r, *v;
	const char *src;
	char got[PROTO_NAME_MAX + 1], *buf;
	size_t len, n;
	struct mpr rd;
	int found;

	for (size_t i = 0; i < W.nrules; i++)
		if (strcmp(W.rules[i].name, name) == 0)
			return &W.rules[i];
	if (tmsg_need_rule_pack(&W.out, name) < 0)
		return NULL;
	tw_send();
	buf = tw_recv(TST_MSG_RULE, &len);
	mpr_init(&rd, buf, len);
	if (tmsg_rule_decode(&rd, got, sizeof got, &found, &src, &n) < 0 ||
	    strcmp(got, name) != 0)
		tw_exit(TW_EXIT_PROTOCOL);
	if ((v = realloc(W.rules, (W.nrules + 1) * sizeof *v)) == NULL) {
		free(buf);
		return NULL;
	}
	W.rules = v;
	r = &v[W.nrules];
	r->name = strdup(name);
	r->src = found ? malloc(n + 1) : NULL;
	r->len = n;
	if (r->src != NULL)
		memcpy(r->src, src, n);
	free(buf);
	if (r->name == NULL || (found && r->src == NULL))
		return NULL;
	W.nrules++;
	return r;
}

/* The rule named at idx, or an error that says where to put it. */
static struct tw_rule *
tw_rule_arg(lua_State *L, int idx)
{
	size_t n;
	const char *name = luaL_checklstring(L, idx, &n);
	struct tw_rule *r;

	if (!policy_rule_name_ok(name, n))
		tw_error(L, "rule(\"%s\"): a rule's name is its path under the "
		    "rules directory without .lua, like payments/fraud", name);
	if ((r = tw_rule_fetch(name)) == NULL)
		tw_error(L, "rule %s: out of memory", name);
	if (r->src == NULL)
		tw_error(L, "no rule %s: there is no %s.lua under the rules "
		    "directory %s (see --rules)", name, name, W.f->rules_dir);
	return r;
}

/* T.have_rule(name): raise unless the rule exists. */
static int
tw_have_rule(lua_State *L)
{
	tw_rule_arg(L, 1);
	return 0;
}

/* --- limits of one invocation -------------------------------------------- */

/* The pool's limits where the command line gave none. */
static void
tw_pool_limits(struct lim_config *c, const struct lim_config *p,
    unsigned given)
{
	if (!(given & RUNOPT_GIVEN_MEMORY))
		c->memory = p->memory;
	if (!(given & RUNOPT_GIVEN_INSTRUCTIONS))
		c->instructions = p->instructions;
	if (!(given & RUNOPT_GIVEN_TIMEOUT))
		c->timeout_us = p->timeout_us;
	if (!(given & RUNOPT_GIVEN_OUTPUT))
		c->output = p->output;
	if (!(given & RUNOPT_GIVEN_LOG))
		c->log = p->log;
	c->calls = p->calls;
}

/* A limit given per call: a number (bytes, instructions, ms) or text with
 * units as on the command line. */
static uint64_t
tw_limit_value(lua_State *L, const char *name, int time, int size)
{
	lua_Integer i;
	uint64_t v;
	size_t s;
	int ok;

	if (lua_type(L, -1) == LUA_TNUMBER) {	/* 1e6 too */
		i = lua_tointegerx(L, -1, &ok);
		if (!ok || i < 0 || (uint64_t)i > UINT64_MAX / 1000)
			tw_error(L, "limit %s: a whole number, not negative", name);
		v = (uint64_t)i * (time ? 1000 : 1);
	} else if (lua_type(L, -1) == LUA_TSTRING) {
		const char *t = lua_tostring(L, -1);

		ok = time ? units_time_us(t, &v) : size ? units_size(t, &s) :
		    units_count(t, &v);
		if (ok < 0)
			tw_error(L, "limit %s: cannot read \"%s\"", name, t);
		if (size)
			v = s;
	} else
		return tw_error(L, "limit %s: a whole number or a text like "
		    "\"2M\" or \"200ms\"", name), 0;
	if ((time || (size && strcmp(name, "log") != 0)) && v == 0)
		tw_error(L, "limit %s: must be above 0", name);
	return v;
}

static void
tw_call_limits(lua_State *L, int idx, struct lim_config *c)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	for (lua_pushnil(L); lua_next(L, idx) != 0; lua_pop(L, 1)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ?
		    lua_tostring(L, -2) : "";

		if (strcmp(k, "memory") == 0)
			c->memory = tw_limit_value(L, k, 0, 1);
		else if (strcmp(k, "instructions") == 0)
			c->instructions = tw_limit_value(L, k, 0, 0);
		else if (strcmp(k, "timeout") == 0)
			c->timeout_us = tw_limit_value(L, k, 1, 0);
		else if (strcmp(k, "output") == 0)
			c->output = tw_limit_value(L, k, 0, 1);
		else if (strcmp(k, "log") == 0)
			c->log = tw_limit_value(L, k, 0, 1);
		else if (strcmp(k, "calls") == 0)
			c->calls = tw_limit_value(L, k, 0, 0);
		else
			tw_error(L, "unknown limit %s; the limits of a call are "
			    "memory, instructions, timeout, output, log and "
			    "calls", k);
	}
	if (c->memory > ((size_t)1 << 40) || c->timeout_us > 3600000000ull)
		tw_error(L, "limits: at most 1024G of memory and an hour");
}

/* The limits and pool of an invocation of rule; pool NULL when the
 * policy has no pool that runs it. Always counted, when Lua can. */
static void
tw_limits(lua_State *L, int idx, const char *rule, struct lim_config *c,
    const char **pool)
{
	double left = tw_ms_until(&W.deadline);

	*c = W.o->limits;
	*pool = "default";
	if (W.o->policy_path != NULL) {
		const struct pool_conf *pc = policy_pool_for(&W.o->policy,
		    rule);

		*pool = pc != NULL ? pc->name : NULL;
		if (pc != NULL)
			tw_pool_limits(c, &pc->limits, W.o->given);
	}
	if (!lua_isnoneornil(L, idx))
		tw_call_limits(L, idx, c);
	if (c->instructions == 0 && lim_can_count())
		c->instructions = TW_COUNT_ALL;
	if (left < 1)
		left = 1;
	if ((double)c->timeout_us > left * 1000)	/* the test's deadline */
		c->timeout_us = (uint64_t)(left * 1000);
}

/* --- invoking a rule ----------------------------------------------------- */

/* The test's own clock stops; its deadline does not. */
static void
tw_pause(void)
{
	lim_stop(&W.lim);
}

static void
tw_resume(lua_State *L)
{
	double left = tw_ms_until(&W.deadline);

	if (left <= 0) {
		W.lim.expired = 1;
		left = 1;
	}
	W.lim.cfg.timeout_us = (uint64_t)(left * 1000);
	lim_start(&W.lim, L);
}

static void
tw_run_rule(lua_State *L, const struct inv_request *req, const char *pool,
    const char *where, const struct tw_rule *r, struct inv_outcome *o,
    msgpack_sbuffer *calls)
{
	struct inv_sandbox sb;

	tw_pause();
	tm_begin(req->rule, pool, where);
	if (pool == NULL)
		inv_fail(o, MB_DENIED, "no pool of the policy runs rule %s",
		    req->rule);
	else if (inv_prepare(&sb) < 0)
		inv_fail(o, MB_INTERNAL, "cannot create a Lua state");
	else {
		if (W.o->coverage)
			tcov_attach(&sb.lim, req->rule, req->chunkname, r->src,
			    r->len);
		inv_run(&sb, req, o);
		inv_discard(&sb);
	}
	tm_end(calls);
	tw_resume(L);
}

static void
tw_account(const struct inv_outcome *o, const char *rule)
{
	struct tst_usage *u = &W.usage;
	struct lim m = { .log = o->log };
	char prefix[PROTO_NAME_MAX + 4];

	u->invocations++;
	u->counted = o->counted && (u->counted || u->invocations == 1);
	if (o->instructions > u->instructions)
		u->instructions = o->instructions;
	if (o->memory > u->memory)
		u->memory = o->memory;
	u->wall_us += (uint64_t)(o->wall_ms * 1000);
	tw_take_log(&W.lim, "print: ", 1);
	snprintf(prefix, sizeof prefix, "%s: ", rule);
	tw_take_log(&m, prefix, 0);
}

struct tw_result {
	const char		*rule;
	struct inv_outcome	*o;
	msgpack_sbuffer		*calls;
};

static void
tw_set_number(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void
tw_set_integer(lua_State *L, const char *k, uint64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static void
tw_push_usage(lua_State *L, const struct inv_outcome *o)
{
	lua_createtable(L, 0, 6);
	if (o->counted)
		tw_set_integer(L, "instructions", o->instructions);
	tw_set_integer(L, "memory", o->memory);
	tw_set_number(L, "cpu_ms", o->cpu_ms);
	tw_set_number(L, "wall_ms", o->wall_ms);
	tw_set_integer(L, "calls", o->calls);
	tw_set_integer(L, "log_dropped", o->log.dropped);
	lua_setfield(L, -2, "usage");
}

static void
tw_push_log(lua_State *L, const struct inv_outcome *o)
{
	struct lim m = { .log = o->log };
	const char *s;
	size_t at = 0, n;
	int i = 0;

	lua_createtable(L, (int)o->log.lines, 0);
	while (lim_log_next(&m, &at, &s, &n)) {
		lua_pushlstring(L, s, n);
		lua_rawseti(L, -2, ++i);
	}
	lua_setfield(L, -2, "log");
}

/* {ok, value | error = {kind, message}, usage, log, calls, rule}. */
static int
tw_push_result(lua_State *L, void *ud)
{
	struct tw_result *res = ud;
	struct inv_outcome *o = res->o;
	struct conv_error ce;

	lua_createtable(L, 0, 7);
	lua_pushboolean(L, o->kind == MB_OK);
	lua_setfield(L, -2, "ok");
	if (o->kind == MB_OK) {
		if (conv_push(L, o->result.data, o->result.size, &ce) < 0)
			return luaL_error(L, "the result cannot be read: %s",
			    ce.what);
		lua_setfield(L, -2, "value");
	} else {
		lua_createtable(L, 0, 2);
		lua_pushstring(L, kind_name(o->kind));
		lua_setfield(L, -2, "kind");
		lua_pushstring(L, o->message);
		lua_setfield(L, -2, "message");
		lua_setfield(L, -2, "error");
	}
	tw_push_usage(L, o);
	tw_push_log(L, o);
	if (conv_push(L, res->calls->data, res->calls->size, &ce) < 0)
		return luaL_error(L, "the calls cannot be read: %s", ce.what);
	lua_setfield(L, -2, "calls");
	lua_pushstring(L, res->rule);
	lua_setfield(L, -2, "rule");
	return 1;
}

/* T.invoke(name, event, limits): one invocation, as the daemon runs it. */
static int
tw_invoke(lua_State *L)
{
	struct tw_rule *r = tw_rule_arg(L, 1);
	struct inv_request req = { 0 };
	struct inv_outcome out;
	struct conv_error ce;
	struct tw_result res;
	msgpack_sbuffer ev, calls;
	char where[TW_WHERE_MAX], chunk[PROTO_NAME_MAX + 6], id[32];
	const char *pool;
	int st;

	tw_where(L, where, sizeof where);
	tw_limits(L, 3, r->name, &req.limits, &pool);
	msgpack_sbuffer_init(&ev);
	if (!lua_isnoneornil(L, 2) &&
	    conv_pack(L, 2, "event", TW_MAX_INPUT, &ev, &ce) < 0) {
		msgpack_sbuffer_destroy(&ev);
		return tw_error(L, "the event cannot be sent: %s: %s", ce.path,
		    ce.what);
	}
	snprintf(chunk, sizeof chunk, "@%s.lua", r->name);
	snprintf(id, sizeof id, "test-%u", ++W.ninvoke);
	req.rule = r->name;
	req.chunkname = chunk;
	req.source = r->src;
	req.source_len = r->len;
	req.input = ev.size > 0 ? ev.data : NULL;
	req.input_len = ev.size;
	req.id = id;
	inv_outcome_init(&out);
	msgpack_sbuffer_init(&calls);
	tw_run_rule(L, &req, pool, where, r, &out, &calls);
	tw_account(&out, r->name);
	if (out.kind == MB_TIMEOUT && out.wall_ms > (double)req.limits.timeout_us
	    / 1000 + RUNNER_GRACE_MS)
		tw_failure(where, "rule %s ran %.0f ms past its deadline of %llu "
		    "ms inside a library function, where no hook fires: the "
		    "daemon would have killed its worker", r->name, out.wall_ms -
		    (double)req.limits.timeout_us / 1000, (unsigned long long)
		    (req.limits.timeout_us / 1000));
	res = (struct tw_result){ r->name, &out, &calls };
	st = mod_protect(L, tw_push_result, &res);
	inv_outcome_free(&out);
	msgpack_sbuffer_destroy(&calls);
	msgpack_sbuffer_destroy(&ev);
	if (st != LUA_OK)
		return lua_error(L);
	return 1;
}

/* --- the rest of T ------------------------------------------------------- */

/* The text of line n of the test file. */
static void
tw_push_line(lua_State *L, int n)
{
	const char *p = W.f->source, *end = p + W.f->len, *e;

	for (int i = 1; i < n && p < end; i++) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			p = end;
		else
			p = e + 1;
	}
	e = memchr(p, '\n', (size_t)(end - p));
	lua_pushlstring(L, p, e != NULL ? (size_t)(e - p) : (size_t)(end - p));
}

/* T.where(): path, line and text of the test file's innermost line. */
static int
tw_l_where(lua_State *L)
{
	char where[TW_WHERE_MAX];
	int line = tw_where(L, where, sizeof where);

	lua_pushstring(L, W.f->path);
	lua_pushinteger(L, line);
	if (line > 0)
		tw_push_line(L, line);
	else
		lua_pushliteral(L, "");
	return 3;
}

/* T.fail(message): a failure at the test file's line; stops the test. */
static int
tw_l_fail(lua_State *L)
{
	char where[TW_WHERE_MAX];
	size_t n;
	const char *msg = luaL_checklstring(L, 1, &n);

	tw_where(L, where, sizeof where);
	tw_failure(where, "%s", msg);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &tw_stop_key);
	return lua_error(L);
}

/* T.size(v), T.ms(v): a size in bytes, a time in ms, as options take. */
static int
tw_l_units(lua_State *L, int time)
{
	uint64_t us;
	size_t s;

	if (lua_type(L, 1) == LUA_TNUMBER) {
		lua_settop(L, 1);
		return 1;
	}
	if (lua_type(L, 1) == LUA_TSTRING && (time ?
	    units_time_us(lua_tostring(L, 1), &us) :
	    units_size(lua_tostring(L, 1), &s)) == 0) {
		if (time)
			lua_pushnumber(L, (double)us / 1000);
		else
			lua_pushinteger(L, (lua_Integer)s);
		return 1;
	}
	return tw_error(L, time ? "expected a time like 50ms or 2s" :
	    "expected a size like 512K or 2M");
}

static int tw_l_size(lua_State *L) { return tw_l_units(L, 0); }
static int tw_l_ms(lua_State *L) { return tw_l_units(L, 1); }

static const luaL_Reg tw_funcs[] = {
	{ "invoke",	tw_invoke },
	{ "have_rule",	tw_have_rule },
	{ "where",	tw_l_where },
	{ "fail",	tw_l_fail },
	{ "pcall",	tw_l_pcall },
	{ "size",	tw_l_size },
	{ "ms",		tw_l_ms },
	{ NULL,		NULL }
};

/* --- a test's sandbox ---------------------------------------------------- */

/* Under a protected call: the test API in a fresh sandbox. The capability
 * modules are a rule's, not a test's: gone. */
static int
tw_api(lua_State *L)
{
	static const char *const gone[] = {
		"log", "kv", "http", "secrets", "time", NULL
	};
	const struct embedded *e = embedded_find("test");

	for (int i = 0; gone[i] != NULL; i++) {
		lua_pushnil(L);
		lua_setglobal(L, gone[i]);
	}
	lua_newtable(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &tw_stop_key);
	if (e == NULL || luaL_loadbufferx(L, e->source, e->len, "=test", "t")
	    != LUA_OK)
		return luaL_error(L, "the test API is missing");
	luaL_newlib(L, tw_funcs);
	tm_install(L, -1);
	lua_pushstring(L, W.f->path);
	lua_setfield(L, -2, "file");
	if (W.f->rule != NULL) {
		lua_pushstring(L, W.f->rule);
		lua_setfield(L, -2, "default_rule");
	}
	lua_call(L, 1, 1);
	luaL_checktype(L, -1, LUA_TTABLE);
	lua_setfield(L, LUA_REGISTRYINDEX, TW_API_KEY);
	return 0;
}

static lua_State *
tw_state(void)
{
	struct lim_config c;
	lua_State *L;

	lim_defaults(&c);
	c.memory = SIZE_MAX / 4;
	c.instructions = 0;
	c.timeout_us = W.o->test_timeout_us;
	c.log = TST_LOG_KEEP;
	lim_reset(&W.lim, &c);
	if ((L = sbx_new(&W.lim)) == NULL)
		return NULL;
	lua_pushcfunction(L, tw_api);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		lua_close(L);
		return NULL;
	}
	W.lim.cfg.memory = W.o->test_memory;
	return L;
}

/* A syntax error, "chunkid:line: message", with the file's whole path: Lua
 * shortens a long one to its end. */
static void
tw_syntax_failure(const char *msg)
{
	const char *p = msg;

	while ((p = strchr(p, ':')) != NULL) {
		const char *q = p + 1;

		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p + 1 && *q == ':') {
			tw_failure("", "%s%s", W.f->path, p);
			return;
		}
		p++;
	}
	tw_failure("", "%s", msg);
}

/* Run the file's chunk, then api[fn](arg) if fn: under the test's limits
 * from now on, its deadline test_timeout away. LUA_OK or an error status
 * (its failure recorded by tw_msgh, or a limit hit). */
static int
tw_phase(lua_State *L, const char *fn, lua_Integer arg)
{
	int st;

	clock_gettime(CLOCK_MONOTONIC, &W.deadline);
	W.deadline.tv_sec += (time_t)(W.o->test_timeout_us / 1000000);
	W.deadline.tv_nsec += (long)(W.o->test_timeout_us % 1000000) * 1000;
	if (W.deadline.tv_nsec >= 1000000000) {
		W.deadline.tv_sec++;
		W.deadline.tv_nsec -= 1000000000;
	}
	lua_pushcfunction(L, tw_msgh);
	if (lim_start(&W.lim, L) < 0)
		return LUA_ERRERR;
	st = sbx_load(L, W.f->source, W.f->len, W.chunk);
	if (st != LUA_OK)
		tw_syntax_failure(lua_tostring(L, -1));
	else if ((st = lua_pcall(L, 0, 0, 1)) == LUA_OK && fn != NULL) {
		lua_getfield(L, LUA_REGISTRYINDEX, TW_API_KEY);
		lua_getfield(L, -1, fn);
		lua_remove(L, -2);
		lua_pushinteger(L, arg);
		st = lua_pcall(L, 1, 1, 1);
	}
	lim_stop(&W.lim);
	return st;
}

/* What a limit hit in the test's own code says. */
static void
tw_limit_failure(void)
{
	const char *where = W.hit_where[0] != '\0' ? W.hit_where : W.f->path;

	if (W.lim.hit == MB_OK && W.lim.expired)
		W.lim.hit = MB_TIMEOUT;
	switch (W.lim.hit) {
	case MB_TIMEOUT:
		tw_failure(where, "the test ran past its deadline of %llu ms "
		    "(--test-timeout)", (unsigned long long)
		    (W.o->test_timeout_us / 1000));
		break;
	case MB_MEMORY:
		tw_failure(where, "the test used more than the %zu%s of its own "
		    "sandbox (--test-memory)", W.o->test_memory % (1u << 20) ?
		    W.o->test_memory : W.o->test_memory >> 20,
		    W.o->test_memory % (1u << 20) ? " bytes" : "M");
		break;
	case MB_OK:
		break;
	default:
		tw_failure(where, "the test hit a limit: %s",
		    kind_name(W.lim.hit));
	}
}

static void
tw_clear_test(void)
{
	for (size_t i = 0; i < W.nfails; i++)
		free(W.fails[i]);
	for (size_t i = 0; i < W.nlog; i++)
		free(W.log[i]);
	free(W.log);
	W.log = NULL;
	W.nfails = W.nlog = W.logbytes = W.logcap = 0;
	W.more_fails = 0;
	W.hit_where[0] = '\0';
	W.ninvoke = 0;
	memset(&W.usage, 0, sizeof W.usage);
	tm_reset();
}

/* The failures, one a line. */
static char *
tw_fail_text(void)
{
	size_t n = 1;
	char *s;

	for (size_t i = 0; i < W.nfails; i++)
		n += strlen(W.fails[i]) + 1;
	if ((s = malloc(n + 64)) == NULL)
		return NULL;
	*s = '\0';
	for (size_t i = 0; i < W.nfails; i++) {
		strcat(s, W.fails[i]);
		if (i + 1 < W.nfails)
			strcat(s, "\n");
	}
	if (W.more_fails > 0)
		sprintf(s + strlen(s), "\n(%u more failures)", W.more_fails);
	return s;
}

/* --- listing ------------------------------------------------------------- */

static const char *
tw_field_str(lua_State *L, int t, const char *k)
{
	const char *s;

	lua_pushstring(L, k);
	s = lua_rawget(L, t) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);		/* the list holds it */
	return s;
}

/* One entry of list(): {name, suite = {...}, test, line, skip}. */
static int
tw_list_entry(lua_State *L, int t, struct tst_test *e)
{
	const char *name = tw_field_str(L, t, "name");
	const char *test = tw_field_str(L, t, "test");
	lua_Integer n;

	lua_pushliteral(L, "line");
	lua_rawget(L, t);
	n = lua_tointeger(L, -1);
	lua_pop(L, 1);
	lua_pushliteral(L, "skip");
	lua_rawget(L, t);
	e->skip = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_pushliteral(L, "suite");
	if (name == NULL || test == NULL || n < 0 || n > INT32_MAX ||
	    lua_rawget(L, t) != LUA_TTABLE)
		return -1;
	e->name = (char *)name;
	e->test = (char *)test;
	e->line = (unsigned)n;
	e->nsuite = (int)lua_rawlen(L, -1);
	if (e->nsuite > 64 || (e->suite = calloc((size_t)e->nsuite + 1,
	    sizeof *e->suite)) == NULL)
		return -1;
	for (int i = 0; i < e->nsuite; i++) {
		int type = lua_rawgeti(L, -1, i + 1);

		e->suite[i] = (char *)lua_tostring(L, -1);
		lua_pop(L, 1);		/* the suite table holds it */
		if (type != LUA_TSTRING)
			return -1;
	}
	lua_pop(L, 1);
	return 0;
}

/* Pack the list at the top of L into W.out (strings stay in L). */
static int
tw_pack_list(lua_State *L)
{
	int t = lua_gettop(L);
	size_t n = lua_type(L, t) == LUA_TTABLE ? lua_rawlen(L, t) : 0;
	struct tst_test *v;
	int st = 0;

	if (lua_type(L, t) != LUA_TTABLE || n > TST_MAX_TESTS ||
	    (v = calloc(n + 1, sizeof *v)) == NULL)
		return -1;
	W.lim.trusted = 1;
	for (size_t i = 0; i < n && st == 0; i++) {
		if (lua_rawgeti(L, t, (lua_Integer)i + 1) != LUA_TTABLE)
			st = -1;
		else
			st = tw_list_entry(L, lua_gettop(L), &v[i]);
		lua_settop(L, t);
	}
	W.lim.trusted = 0;
	if (st == 0)
		st = tmsg_list_pack(&W.out, v, n);
	if (st == 0 && (W.names = calloc(n + 1, sizeof *W.names)) != NULL)
		for (size_t i = 0; i < n; i++)
			if ((W.names[i] = strdup(v[i].name)) != NULL)
				W.nnames = i + 1;
	for (size_t i = 0; i < n; i++)
		free(v[i].suite);
	free(v);
	return st;
}

/* Load the file and send its list of tests, or why it does not load. */
static void
tw_list(void)
{
	lua_State *L = tw_state();
	int st;

	tw_clear_test();
	if (L == NULL)
		tw_exit(TW_EXIT_SANDBOX);
	st = tw_phase(L, "list", 0);
	tw_limit_failure();
	if (st != LUA_OK || W.nfails > 0 || tw_pack_list(L) < 0) {
		char *why = tw_fail_text();

		if (W.nfails == 0) {
			free(why);
			why = strdup("the test API was changed by the file: "
			    "its list of tests cannot be read");
		}
		tmsg_load_error_pack(&W.out, why != NULL ? why : "");
		free(why);
		tw_send();
		lua_close(L);
		tw_exit(TW_EXIT_DONE);
	}
	tw_send();
	lua_close(L);
}

/* --- running a test ------------------------------------------------------ */

static void
tw_test(size_t index)
{
	struct timespec t0, t1;
	struct tst_test res;
	lua_State *L;
	int st;

	tw_clear_test();
	tmsg_begin_pack(&W.out, index);
	tw_send();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((L = tw_state()) == NULL)
		tw_exit(TW_EXIT_SANDBOX);
	st = tw_phase(L, "run", (lua_Integer)index + 1);
	tw_limit_failure();
	if (st == LUA_OK && (index >= W.nnames ||
	    lua_type(L, -1) != LUA_TSTRING ||
	    strcmp(lua_tostring(L, -1), W.names[index]) != 0))
		tw_failure(W.f->path, "the file defines other tests when it "
		    "runs again (test %zu was \"%s\"): tests must not depend "
		    "on chance or the clock", index + 1,
		    index < W.nnames ? W.names[index] : "?");
	tm_check();
	tw_take_log(&W.lim, "print: ", 1);
	lua_close(L);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	memset(&res, 0, sizeof res);
	res.status = W.nfails > 0 || W.more_fails > 0 ? TST_FAIL : TST_PASS;
	res.message = tw_fail_text();
	res.duration_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000);
	res.usage = W.usage;
	res.log = W.log;
	res.nlog = W.nlog;
	tmsg_result_pack(&W.out, index, &res);
	free(res.message);
	tw_send();
}

/* The rule beside the file is in the coverage even if no test runs it. */
static void
tw_coverage(void)
{
	char chunk[PROTO_NAME_MAX + 6];
	struct tw_rule *r;

	if (W.f->rule != NULL && (r = tw_rule_fetch(W.f->rule)) != NULL &&
	    r->src != NULL) {
		snprintf(chunk, sizeof chunk, "@%s.lua", r->name);
		tcov_note(r->name, chunk, r->src, r->len);
	}
	if (tcov_send(W.chan, &W.out) < 0)
		tw_exit(TW_EXIT_CHANNEL);
}

void
tw_main(const struct tst_opts *o, const struct tst_file *f,
    const struct contain_config *cc, int chan)
{
	char err[512], *buf;
	size_t len, *todo, ntodo;
	struct mpr r;

	W.o = o;
	W.f = f;
	W.chan = chan;
	snprintf(W.chunk, sizeof W.chunk, "@%s", f->path);
	msgpack_sbuffer_init(&W.out);
	if (contain(cc, err, sizeof err) < 0) {
		char why[600];

		snprintf(why, sizeof why, "the worker cannot contain itself: "
		    "%s", err);
		tmsg_load_error_pack(&W.out, why);
		tw_send();
		tw_exit(TW_EXIT_CONTAIN);
	}
	tm_init(&o->policy);
	tw_list();
	buf = tw_recv(TST_MSG_RUN, &len);
	mpr_init(&r, buf, len);
	if (tmsg_run_decode(&r, &todo, &ntodo) < 0)
		tw_exit(TW_EXIT_PROTOCOL);
	free(buf);
	for (size_t i = 0; i < ntodo; i++)
		tw_test(todo[i]);
	free(todo);
	if (o->coverage)
		tw_coverage();
	tmsg_done_pack(&W.out);
	tw_send();
	tw_exit(TW_EXIT_DONE);
}
