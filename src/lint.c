/*
 * lint.c: one rule through moonbox check (lint.h). A child process is
 * forked and contained as a worker is (contain.c: as root, nobody in an
 * empty directory); in it the rule is compiled with the sandbox's loader,
 * text only, in a fresh sandbox state, and read as data by
 * lua-stdlib/lint.lua in a plain Lua state of its own, which is told the
 * globals of that sandbox state. The child sends its findings in one frame;
 * the parent reads it strictly. Uses sandbox.c, contain.c, runner.c (the
 * identity to drop to), chan.c and mpr.c.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <lauxlib.h>
#include <lualib.h>
#include <lua-lpeg.h>
#include <msgpack.h>

#include "config.h"
#include "chan.h"
#include "contain.h"
#include "embedded.h"
#include "lint.h"
#include "mpr.h"
#include "msg.h"
#include "runner.h"
#include "sandbox.h"

#define LINT_CHUNK	"rule"		/* errors read "rule:LINE: ..." */

/* The child's exit statuses when it cannot answer. */
static const struct {
	int		 status;
	const char	*why;
} lint_exits[] = {
	{ 70, "its containment failed" },
	{ 71, "its channel broke" },
	{ 73, "no Lua state could be made" },
};
#define LINT_AS		((size_t)2 << 30)	/* RLIMIT_AS of the child */
#define LINT_CPU_S	30

/* --- the report ------------------------------------------------------------ */

int
lint_add(struct lint_report *r, int line, int col, enum lint_severity sev,
    const char *code, const char *fmt, ...)
{
	struct lint_diag *d;
	va_list ap;

	if (r->ndiags >= LINT_MAX_DIAGS) {
		r->dropped++;
		return 0;
	}
	if (r->ndiags == r->capdiags) {
		size_t cap = r->capdiags ? r->capdiags * 2 : 16;

		if ((d = realloc(r->diags, cap * sizeof *d)) == NULL)
			return -1;
		r->diags = d;
		r->capdiags = cap;
	}
	d = &r->diags[r->ndiags];
	d->line = line;
	d->col = col;
	d->severity = sev;
	snprintf(d->code, sizeof d->code, "%s", code);
	va_start(ap, fmt);
	if (vasprintf(&d->message, fmt, ap) < 0)
		d->message = NULL;
	va_end(ap);
	if (d->message == NULL)
		return -1;
	r->ndiags++;
	return 0;
}

static int
lint_diag_cmp(const void *a, const void *b)
{
	const struct lint_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->severity != y->severity ? (x->severity == LINT_ERROR ? -1 : 1) :
	    strcmp(x->message, y->message);
}

void
lint_sort(struct lint_report *r)
{
	if (r->ndiags > 1)
		qsort(r->diags, r->ndiags, sizeof *r->diags, lint_diag_cmp);
}

void
lint_free(struct lint_report *r)
{
	for (size_t i = 0; i < r->ndiags; i++)
		free(r->diags[i].message);
	for (size_t i = 0; i < r->ncalls; i++)
		free(r->calls[i].value);
	free(r->diags);
	free(r->calls);
	memset(r, 0, sizeof *r);
}

/* --- in the child: compiling --------------------------------------------- */

struct lint_child {
	const char	*src;
	size_t		 len;
	enum lint_mode	 mode;
	lua_State	*S;		/* a sandbox state */
	lua_State	*L;		/* lint.lua's */
	struct lim	 lim;
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	uint32_t	 ndiags;	/* packed so far */
	msgpack_sbuffer	 diags;		/* their msgpack, then the array */
	msgpack_packer	 dpk;
};

static void
lint_pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void
lint_child_diag(struct lint_child *c, int line, int col, const char *sev,
    const char *code, const char *msg)
{
	if (c->ndiags >= LINT_MAX_DIAGS)
		return;
	msgpack_pack_array(&c->dpk, 5);
	msgpack_pack_uint32(&c->dpk, (uint32_t)(line > 0 ? line : 0));
	msgpack_pack_uint32(&c->dpk, (uint32_t)(col > 0 ? col : 0));
	lint_pack_str(&c->dpk, sev);
	lint_pack_str(&c->dpk, code);
	lint_pack_str(&c->dpk, msg);
	c->ndiags++;
}

/* "rule:12: '=' expected near 'x'": the line, the message after it, and
 * the near token's text (malloc'ed; NULL when there is none). */
static const char *
lint_split_error(const char *msg, int *line, char **near)
{
	const char *p = msg, *q;
	size_t k = sizeof LINT_CHUNK - 1;

	*line = 1;
	*near = NULL;
	if (strncmp(p, LINT_CHUNK ":", k + 1) == 0) {
		char *end;
		long l = strtol(p + k + 1, &end, 10);

		if (end > p + k + 1 && *end == ':' && l > 0 && l < INT_MAX) {
			*line = (int)l;
			p = end + 1;
		} else
			p += k + 1;
		p += *p == ' ';
	}
	if ((q = strstr(p, " near ")) != NULL) {
		const char *t = q + 6;
		size_t n = strlen(t);

		if (n >= 2 && t[0] == '\'' && t[n - 1] == '\'')
			*near = strndup(t + 1, n - 2);
		else
			*near = strdup(t);
	} else if ((q = strstr(p, " at line ")) != NULL) {
		/* a goto or break, found wrong where its block ends */
		long l = strtol(q + 9, NULL, 10);

		if (l > 0 && l <= *line)
			*line = (int)l;
	}
	return p;
}

/* The column of a syntax error: lint.lua's locate, else 1. */
static int
lint_locate(struct lint_child *c, int line, const char *near)
{
	int col = 1;

	if (c->L == NULL || lua_getfield(c->L, -1, "locate") != LUA_TFUNCTION) {
		if (c->L != NULL)
			lua_pop(c->L, 1);
		return col;
	}
	lua_pushlstring(c->L, c->src, c->len);
	lua_pushinteger(c->L, line);
	if (near != NULL)
		lua_pushstring(c->L, near);
	else
		lua_pushnil(c->L);
	if (lua_pcall(c->L, 3, 1, 0) == LUA_OK && lua_isinteger(c->L, -1))
		col = (int)lua_tointeger(c->L, -1);
	lua_pop(c->L, 1);
	return col > 0 ? col : 1;
}

/* Compile with the sandbox's loader; 0 when it compiled. */
static int
lint_compile(struct lint_child *c)
{
	const char *msg;
	char *near, text[1024];
	int line;

	if (sbx_load(c->S, c->src, c->len, "=" LINT_CHUNK) == LUA_OK)
		return 0;
	msg = lint_split_error(lua_tostring(c->S, -1) != NULL ?
	    lua_tostring(c->S, -1) : "the rule does not compile", &line, &near);
	snprintf(text, sizeof text, "syntax error: %s", msg);
	lint_child_diag(c, line, lint_locate(c, line, near), "error", "syntax",
	    text);
	free(near);
	return -1;
}

/* --- in the child: the sandbox's globals ------------------------------------ */

/* Read one capability table: it fills them all (mod_cap.c). */
static int
lint_load_caps(lua_State *S)
{
	lua_getglobal(S, "kv");
	lua_getfield(S, -1, "get");
	return 0;
}

/* Whether the value at the top of S is a table whose fields are all its
 * own: not one that finds them through a metatable (re loads lazily). */
static int
lint_plain_table(lua_State *S)
{
	if (lua_type(S, -1) != LUA_TTABLE)
		return 0;
	if (!lua_getmetatable(S, -1))
		return 1;
	lua_pop(S, 1);
	return 0;
}

/* { name = true | { field = true, ... } } of the table at the top of S,
 * pushed on L. */
static void
lint_copy_names(lua_State *S, lua_State *L, int depth)
{
	int t = lua_gettop(S);

	lua_newtable(L);
	lua_pushnil(S);
	while (lua_next(S, t) != 0) {
		if (lua_type(S, -2) == LUA_TSTRING) {
			if (depth == 0 && lint_plain_table(S))
				lint_copy_names(S, L, 1);
			else
				lua_pushboolean(L, 1);
			lua_setfield(L, -2, lua_tostring(S, -2));
		}
		lua_pop(S, 1);
	}
}

/* A test file's globals are those of tester_work.c's sandbox: the test API
 * of lua-stdlib/test.lua, without the capability modules. */
static void
lint_test_names(lua_State *L)
{
	static const char *const api[] = {
		"describe", "it", "test", "before_each", "after_each", "rule",
		"expect", "expect_usage", "expect_calls", "mock", "policy",
		"show", NULL
	};
	static const char *const gone[] = {
		"log", "kv", "http", "secrets", "time", NULL
	};

	for (int i = 0; api[i] != NULL; i++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, api[i]);
	}
	for (int i = 0; gone[i] != NULL; i++) {
		lua_pushnil(L);
		lua_setfield(L, -2, gone[i]);
	}
}

static void
lint_globals(struct lint_child *c)
{
	lua_pushcfunction(c->S, lint_load_caps);
	if (lua_pcall(c->S, 0, 0, 0) != LUA_OK)
		lua_pop(c->S, 1);
	lua_pushglobaltable(c->S);
	lint_copy_names(c->S, c->L, 0);
	lua_pop(c->S, 1);
	if (c->mode == LINT_TEST)
		lint_test_names(c->L);
}

/* --- in the child: lint.lua -------------------------------------------------- */

static lua_State *
lint_state(void)
{
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base }, { LUA_TABLIBNAME, luaopen_table },
		{ LUA_STRLIBNAME, luaopen_string },
		{ LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },
		{ "lpeg", luaopen_lpeg }, { NULL, NULL }
	};
	return sbx_trusted_new(libs);
}

/* lint.lua's module table on the top of L, given lpeg and the globals. */
static int
lint_module(struct lint_child *c)
{
	const struct embedded *e = embedded_find("lint");

	if (e == NULL || luaL_loadbufferx(c->L, e->source, e->len, "=lint",
	    "t") != LUA_OK)
		return -1;
	lua_getglobal(c->L, "lpeg");
	lint_globals(c);
	lua_pushboolean(c->L, c->mode == LINT_TEST);
	if (lua_pcall(c->L, 3, 1, 0) != LUA_OK ||
	    lua_type(c->L, -1) != LUA_TTABLE)
		return -1;
	return 0;
}

static lua_Integer
lint_int(lua_State *L, int t, int i)
{
	lua_Integer v;

	lua_rawgeti(L, t, i);
	v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

static void
lint_str_or_nil(lua_State *L, int t, int i, msgpack_packer *pk)
{
	size_t n;
	const char *s;

	lua_rawgeti(L, t, i);
	if ((s = lua_tolstring(L, -1, &n)) != NULL)
		msgpack_pack_str_with_body(pk, s, n);
	else
		msgpack_pack_nil(pk);
	lua_pop(L, 1);
}

/* result.diags: { line, col, code, message }: warnings all. */
static void
lint_take_diags(struct lint_child *c, int res)
{
	lua_State *L = c->L;

	lua_getfield(L, res, "diags");
	for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
		int d;

		lua_rawgeti(L, -1, i);
		d = lua_gettop(L);
		lua_rawgeti(L, d, 3);
		lua_rawgeti(L, d, 4);
		lint_child_diag(c, (int)lint_int(L, d, 1), (int)lint_int(L, d, 2),
		    "warning", luaL_optstring(L, -2, "lint"),
		    luaL_optstring(L, -1, ""));
		lua_settop(L, d - 1);
	}
	lua_pop(L, 1);
}

/* result.calls: { line, col, cap, method, value, complete, http_method }. */
static void
lint_pack_calls(struct lint_child *c, int res)
{
	lua_State *L = c->L;
	lua_Integer n;

	lua_getfield(L, res, "calls");
	n = (lua_Integer)lua_rawlen(L, -1);
	n = n > LINT_MAX_CALLS ? LINT_MAX_CALLS : n;
	msgpack_pack_array(&c->pk, (size_t)n);
	for (lua_Integer i = 1; i <= n; i++) {
		int t;

		lua_rawgeti(L, -1, i);
		t = lua_gettop(L);
		msgpack_pack_array(&c->pk, 7);
		msgpack_pack_uint32(&c->pk, (uint32_t)lint_int(L, t, 1));
		msgpack_pack_uint32(&c->pk, (uint32_t)lint_int(L, t, 2));
		lint_str_or_nil(L, t, 3, &c->pk);
		lint_str_or_nil(L, t, 4, &c->pk);
		lint_str_or_nil(L, t, 5, &c->pk);
		lua_rawgeti(L, t, 6);
		if (lua_toboolean(L, -1))
			msgpack_pack_true(&c->pk);
		else
			msgpack_pack_false(&c->pk);
		lua_pop(L, 1);
		lint_str_or_nil(L, t, 7, &c->pk);
		lua_settop(L, t - 1);
	}
	lua_pop(L, 1);
}

/* The grammar's failure: { pos, message } with a line and column. */
static void
lint_fault(struct lint_child *c)
{
	const char *msg = "moonbox check failed while reading the rule";

	if (lua_type(c->L, -1) == LUA_TSTRING)
		msg = lua_tostring(c->L, -1);
	else if (lua_type(c->L, -1) == LUA_TTABLE) {
		lua_getfield(c->L, -1, "message");
		if (lua_type(c->L, -1) == LUA_TSTRING)
			msg = lua_tostring(c->L, -1);
	}
	lint_child_diag(c, 1, 1, "error", "internal", msg);
}

/* Lint the compiled rule; the calls array is packed into c->pk. */
static void
lint_read(struct lint_child *c)
{
	int res;

	lua_getfield(c->L, -1, "lint");
	lua_pushlstring(c->L, c->src, c->len);
	if (lua_pcall(c->L, 1, 1, 0) != LUA_OK ||
	    lua_type(c->L, -1) != LUA_TTABLE) {
		lint_fault(c);
		msgpack_pack_array(&c->pk, 0);
		return;
	}
	res = lua_gettop(c->L);
	lint_take_diags(c, res);
	lint_pack_calls(c, res);
}

/* The frame: the diags gathered in c->diags, then the calls. */
static void
lint_child_run(struct lint_child *c)
{
	static const char zero[PROTO_FRAME_HEADER];
	msgpack_sbuffer calls;

	msgpack_sbuffer_init(&calls);
	msgpack_packer_init(&c->pk, &calls, msgpack_sbuffer_write);
	msgpack_sbuffer_init(&c->diags);
	msgpack_packer_init(&c->dpk, &c->diags, msgpack_sbuffer_write);
	if (c->L == NULL || lint_module(c) < 0) {
		lint_child_diag(c, 0, 0, "error", "internal", "moonbox check "
		    "cannot set up its reader of rules");
		msgpack_pack_array(&c->pk, 0);
	} else if (lint_compile(c) < 0)
		msgpack_pack_array(&c->pk, 0);
	else
		lint_read(c);
	msgpack_sbuffer_init(&c->sb);
	msgpack_sbuffer_write(&c->sb, zero, sizeof zero);
	msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
	msgpack_pack_array(&c->pk, 2);
	msgpack_pack_array(&c->pk, c->ndiags);
	msgpack_sbuffer_write(&c->sb, c->diags.data, c->diags.size);
	msgpack_sbuffer_write(&c->sb, calls.data, calls.size);
	msgpack_sbuffer_destroy(&calls);
}

static void __attribute__((noreturn))
lint_child_main(int fd, const struct contain_config *cc, const char *src,
    size_t len, enum lint_mode mode)
{
	struct lint_child c = { .src = src, .len = len, .mode = mode };
	struct lim_config l;
	char err[256];

	if (contain(cc, err, sizeof err) < 0)
		_exit(70);		/* see lint_exits */
	lim_defaults(&l);
	l.memory = SIZE_MAX / 4;
	lim_reset(&c.lim, &l);
	if ((c.S = sbx_new(&c.lim)) == NULL)
		_exit(73);
	c.L = lint_state();
	lint_child_run(&c);
	if (msg_finish(&c.sb) < 0 || chan_send(fd, c.sb.data, c.sb.size) < 0)
		_exit(71);
	_exit(0);
}

/* --- in the parent: reading the frame --------------------------------------- */

static int
lint_rd_str(struct mpr *r, char *buf, size_t len)
{
	const char *s;
	size_t n;

	if (mpr_str(r, &s, &n) < 0 || n >= len || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int
lint_rd_pos(struct mpr *r, int *line, int *col)
{
	uint64_t l, c;

	if (mpr_uint(r, &l) < 0 || mpr_uint(r, &c) < 0 || l > INT_MAX ||
	    c > INT_MAX)
		return -1;
	*line = (int)l;
	*col = (int)c;
	return 0;
}

static int
lint_rd_diag(struct mpr *r, struct lint_report *rep)
{
	char sev[16], code[24], msg[4096];
	uint32_t n;
	int line, col;

	if (mpr_array(r, &n) < 0 || n != 5 || lint_rd_pos(r, &line, &col) < 0 ||
	    lint_rd_str(r, sev, sizeof sev) < 0 ||
	    lint_rd_str(r, code, sizeof code) < 0 ||
	    lint_rd_str(r, msg, sizeof msg) < 0 ||
	    (strcmp(sev, "warning") != 0 && strcmp(sev, "error") != 0))
		return -1;
	return lint_add(rep, line, col, sev[0] == 'e' ? LINT_ERROR :
	    LINT_WARNING, code, "%s", msg);
}

static int
lint_grow_calls(struct lint_report *rep)
{
	struct lint_call *c;
	size_t cap;

	if (rep->ncalls < rep->capcalls)
		return 0;
	cap = rep->capcalls ? rep->capcalls * 2 : 16;
	if ((c = realloc(rep->calls, cap * sizeof *c)) == NULL)
		return -1;
	rep->calls = c;
	rep->capcalls = cap;
	return 0;
}

static int
lint_rd_call(struct mpr *r, struct lint_report *rep)
{
	struct lint_call c = { 0 };
	const char *v;
	uint32_t n;

	if (mpr_array(r, &n) < 0 || n != 7 || lint_rd_pos(r, &c.line, &c.col) < 0 ||
	    lint_rd_str(r, c.cap, sizeof c.cap) < 0 ||
	    lint_rd_str(r, c.method, sizeof c.method) < 0)
		return -1;
	if (!mpr_is_nil(r)) {
		if (mpr_str(r, &v, &c.len) < 0 || c.len > LINT_MAX_SOURCE ||
		    (c.value = strndup(v, c.len)) == NULL)
			return -1;
		c.len = strlen(c.value);	/* a NUL ends a name */
	}
	if (mpr_bool(r, &c.complete) < 0 || (!mpr_is_nil(r) &&
	    lint_rd_str(r, c.http_method, sizeof c.http_method) < 0) ||
	    lint_grow_calls(rep) < 0) {
		free(c.value);
		return -1;
	}
	rep->calls[rep->ncalls++] = c;
	return 0;
}

static int
lint_decode(const char *buf, size_t len, struct lint_report *rep)
{
	struct mpr r;
	uint32_t n;

	mpr_init(&r, buf, len);
	if (mpr_array(&r, &n) < 0 || n != 2 || mpr_array(&r, &n) < 0 ||
	    n > LINT_MAX_DIAGS)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (lint_rd_diag(&r, rep) < 0)
			return -1;
	if (mpr_array(&r, &n) < 0 || n > LINT_MAX_CALLS)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (lint_rd_call(&r, rep) < 0)
			return -1;
	return mpr_end(&r);
}

/* --- in the parent: the child -------------------------------------------------- */

static void
lint_checker_fault(struct lint_report *rep, const char *fmt, const char *why)
{
	rep->failed = 1;
	lint_add(rep, 0, 0, LINT_ERROR, "internal", fmt, why);
}

/* How the child ended, when it sent nothing usable. */
static void
lint_reap(pid_t pid, int killed, struct lint_report *rep)
{
	char why[128];
	int st = 0;

	if (killed)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (killed)
		snprintf(why, sizeof why, "it ran past %d s and was killed",
		    LINT_TIMEOUT_MS / 1000);
	else if (WIFSIGNALED(st))
		snprintf(why, sizeof why, "it was killed by signal %d (%s)",
		    WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(why, sizeof why, "it exited with status %d",
		    WEXITSTATUS(st));
	for (size_t i = 0; !killed && WIFEXITED(st) &&
	    i < sizeof lint_exits / sizeof lint_exits[0]; i++)
		if (lint_exits[i].status == WEXITSTATUS(st))
			snprintf(why, sizeof why, "%s", lint_exits[i].why);
	lint_checker_fault(rep, "moonbox check's contained process gave no "
	    "answer: %s", why);
}

static void
lint_wait(pid_t pid, int fd, struct lint_report *rep)
{
	char *buf;
	size_t len;
	int r = chan_recv(fd, &buf, &len, LINT_TIMEOUT_MS);

	if (r != 1) {
		lint_reap(pid, r < 0 && errno == ETIMEDOUT, rep);
		return;
	}
	if (lint_decode(buf, len, rep) < 0)
		lint_checker_fault(rep, "moonbox check's contained process "
		    "answered out of protocol%s", "");
	free(buf);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* moonbox test's naming: NAME_test.lua. */
int
lint_is_test_file(const char *path)
{
	static const char suffix[] = "_test.lua";
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strlen(base);
	return n > sizeof suffix - 1 && strcmp(base + n - (sizeof suffix - 1),
	    suffix) == 0;
}

void
lint_rule(const char *src, size_t len, enum lint_mode mode,
    struct lint_report *rep)
{
	struct contain_config cc = { .nkeep = 1, .cpu_seconds = LINT_CPU_S };
	char dir[RUNNER_DIR_MAX], err[256];
	int sv[2];
	pid_t pid;

#ifndef MB_SANITIZERS
	cc.address_space = LINT_AS;
#endif
	if (runner_drop_config(&cc, dir, err, sizeof err) < 0) {
		lint_checker_fault(rep, "%s", err);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		lint_checker_fault(rep, "socketpair: %s", strerror(errno));
	} else if (fflush(NULL), (pid = fork()) < 0) {
		lint_checker_fault(rep, "fork: %s", strerror(errno));
		close(sv[0]), close(sv[1]);
	} else if (pid == 0) {
		close(sv[0]);
		cc.keep_fds = &sv[1];
		lint_child_main(sv[1], &cc, src, len, mode);
	} else {
		close(sv[1]);
		lint_wait(pid, sv[0], rep);
		close(sv[0]);
	}
	if (dir[0] != '\0')
		rmdir(dir);
}
