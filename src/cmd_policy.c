/*
 * cmd_policy.c: `moonbox policy check FILE` and `moonbox policy explain
 * FILE --rule NAME --call CALL`. check loads the file as moonboxd does;
 * explain judges one capability call, written as the rule would write it,
 * and says which line decides it and which quotas count it. CALL runs in a
 * fresh sandbox whose http, kv, secrets and log are stubs that record
 * their arguments, so no second parser of Lua is needed. Uses policy.c,
 * quota.c, url.c, sandbox.c and limit.c.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "cap.h"
#include "cmd.h"
#include "limit.h"
#include "policy.h"
#include "quota.h"
#include "sandbox.h"
#include "url.h"

#define PCALL_MEMORY		(4u << 20)
#define PCALL_INSTRUCTIONS	1000000
#define PCALL_TIMEOUT_US	(1000u * 1000)
#define PCALL_STR_MAX		(URL_MAX + 1)

/* The one capability call CALL made, as its stub saw it. */
struct pcall {
	int		 n;		/* calls made */
	const char	*name;		/* "kv.set" */
	enum cap_kind	 cap;
	int		 write;
	char		*method, *url, *key, *secret;
	size_t		 urllen, keylen, secretlen;
};

struct pstub {
	const char	*module, *fn;
	enum cap_kind	 cap;
	int		 write;
	int		(*args)(lua_State *, struct pcall *);
};

static void
pol_usage(FILE *f)
{
	fprintf(f, "usage: moonbox policy check FILE\n"
	    "       moonbox policy explain FILE --rule NAME --call CALL\n"
	    "       moonbox policy --help\n"
	    "CALL as a rule writes it: 'http.request{method=\"GET\", "
	    "url=\"https://...\"}',\n  'kv.get(\"key\")', 'kv.set(\"key\", v)', "
	    "'kv.del(\"key\")', 'kv.incr(\"key\")',\n  "
	    "'secrets.get(\"name\")', 'log.info(\"msg\")'\n"
	    "see moonbox(1) and moonbox.policy(5)\n");
}

/* A copy of the string argument at idx; a non-string is an error. */
static char *
pstub_str(lua_State *L, int idx, const char *what, size_t *len)
{
	const char *s;
	char *copy;

	if (lua_type(L, idx) != LUA_TSTRING)
		luaL_error(L, "%s must be a string, not %s", what,
		    luaL_typename(L, idx));
	s = lua_tolstring(L, idx, len);
	if (*len >= PCALL_STR_MAX)
		luaL_error(L, "%s is longer than %d bytes", what, URL_MAX);
	if ((copy = malloc(*len + 1)) == NULL)
		luaL_error(L, "out of memory");
	memcpy(copy, s, *len + 1);
	return copy;
}

static int
pstub_http(lua_State *L, struct pcall *c)
{
	size_t n;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushliteral(L, "url");
	lua_rawget(L, 1);
	c->url = pstub_str(L, -1, "http.request{url=...}", &c->urllen);
	lua_pushliteral(L, "method");
	if (lua_rawget(L, 1) == LUA_TNIL)
		lua_pushliteral(L, "GET");
	c->method = pstub_str(L, -1, "http.request{method=...}", &n);
	return 0;
}

static int
pstub_kv(lua_State *L, struct pcall *c)
{
	c->key = pstub_str(L, 1, "the key", &c->keylen);
	if (strcmp(c->name, "kv.set") == 0 && lua_isnone(L, 2))
		luaL_error(L, "kv.set(key, value) needs a value");
	return 0;
}

static int
pstub_secret(lua_State *L, struct pcall *c)
{
	c->secret = pstub_str(L, 1, "the secret's name", &c->secretlen);
	return 0;
}

static int
pstub_log(lua_State *L, struct pcall *c)
{
	return 0;
}

static const struct pstub pstubs[] = {
	{ "http",	"request",	CAP_HTTP,	0, pstub_http },
	{ "kv",		"get",		CAP_KV,		0, pstub_kv },
	{ "kv",		"set",		CAP_KV,		1, pstub_kv },
	{ "kv",		"del",		CAP_KV,		1, pstub_kv },
	{ "kv",		"incr",		CAP_KV,		1, pstub_kv },
	{ "secrets",	"get",		CAP_SECRET,	0, pstub_secret },
	{ "log",	"debug",	CAP_LOG,	0, pstub_log },
	{ "log",	"info",		CAP_LOG,	0, pstub_log },
	{ "log",	"warn",		CAP_LOG,	0, pstub_log },
	{ "log",	"error",	CAP_LOG,	0, pstub_log },
};

#define NPSTUBS	(sizeof pstubs / sizeof pstubs[0])

static const char *const pstub_names[NPSTUBS] = {
	"http.request", "kv.get", "kv.set", "kv.del", "kv.incr",
	"secrets.get", "log.debug", "log.info", "log.warn", "log.error",
};

/* Upvalues: the record, the stub's index. */
static int
pstub_call(lua_State *L)
{
	struct pcall *c = lua_touserdata(L, lua_upvalueindex(1));
	lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));

	if (c->n++ > 0)
		return luaL_error(L, "CALL makes more than one capability "
		    "call: explain judges one");
	c->name = pstub_names[i];
	c->cap = pstubs[i].cap;
	c->write = pstubs[i].write;
	return pstubs[i].args(L, c);
}

/* Globals http, kv, secrets and log: tables of stubs. */
static int
pstub_install(lua_State *L)
{
	struct pcall *c = lua_touserdata(L, 1);

	lua_pushglobaltable(L);
	for (size_t i = 0; i < NPSTUBS; i++) {
		if (lua_getfield(L, -1, pstubs[i].module) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			lua_setfield(L, -3, pstubs[i].module);
		}
		lua_pushlightuserdata(L, c);
		lua_pushinteger(L, (lua_Integer)i);
		lua_pushcclosure(L, pstub_call, 2);
		lua_setfield(L, -2, pstubs[i].fn);
		lua_pop(L, 1);
	}
	return 0;
}

static void
pcall_free(struct pcall *c)
{
	free(c->method);
	free(c->url);
	free(c->key);
	free(c->secret);
}

static int
pcall_run(lua_State *L, struct lim *m, const char *src, struct pcall *c)
{
	int status;

	lua_pushcfunction(L, pstub_install);
	lua_pushlightuserdata(L, c);
	if ((status = lua_pcall(L, 1, 0, 0)) != LUA_OK)
		return status;
	if ((status = sbx_load(L, src, strlen(src), "=CALL")) != LUA_OK)
		return status;
	if (lim_start(m, L) < 0) {
		lua_pushliteral(L, "cannot arm the deadline timer");
		return LUA_ERRRUN;
	}
	status = lua_pcall(L, 0, 0, 0);
	lim_stop(m);
	return status;
}

/* Evaluate CALL; 0, or -1 with the reason in err. */
static int
pcall_eval(const char *src, struct pcall *c, char *err, size_t len)
{
	struct lim_config cfg;
	struct lim m;
	lua_State *L;
	char msg[128];
	int status;

	lim_defaults(&cfg);
	cfg.memory = PCALL_MEMORY;
	cfg.timeout_us = PCALL_TIMEOUT_US;
	cfg.instructions = lim_can_count() ? PCALL_INSTRUCTIONS : 0;
	lim_reset(&m, &cfg);
	if ((L = sbx_new(&m)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	status = pcall_run(L, &m, src, c);
	if (status != LUA_OK && m.hit != MB_OK)
		snprintf(err, len, "%s", lim_describe(&m, msg, sizeof msg));
	else if (status != LUA_OK)
		snprintf(err, len, "%s", lua_type(L, -1) == LUA_TSTRING ?
		    lua_tostring(L, -1) : "error");
	else if (c->n == 0) {
		snprintf(err, len, "CALL makes no capability call: write one, "
		    "like kv.get(\"key\")");
		status = LUA_ERRRUN;
	}
	lim_log_free(&m);
	lua_close(L);
	return status == LUA_OK ? 0 : -1;
}

static void
pol_print_call(const struct pcall *c)
{
	const char *s = c->cap == CAP_HTTP ? c->url : c->cap == CAP_KV ?
	    c->key : c->secret;
	size_t n = c->cap == CAP_HTTP ? c->urllen : c->cap == CAP_KV ?
	    c->keylen : c->secretlen;

	printf("call: %s", c->name);
	if (c->cap == CAP_HTTP)
		printf(" %s", c->method);
	if (s != NULL) {
		printf(" \"");
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)s[i];

			if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
				putchar(ch);
			else
				printf("\\x%02x", ch);
		}
		printf("\"");
	}
	if (c->cap == CAP_KV)
		printf(" (a %s)", c->write ? "write" : "read");
	printf("\n");
}

struct pol_quota_print {
	const char	*path;
	int		 n;
};

static void
pol_print_quota(void *ud, const struct pol_quota *q, enum quota_scope scope,
    const char *subject)
{
	struct pol_quota_print *pp = ud;

	pp->n++;
	if (q->window_us == 0)
		printf("quota: %s:%d: %s (each invocation of the rule)\n",
		    pp->path, q->line, q->text);
	else if (scope == QUOTA_POOL)
		printf("quota: %s:%d: %s (pool %s: all its rules together)\n",
		    pp->path, q->line, q->text, subject);
	else
		printf("quota: %s:%d: %s (rule %s: its own count)\n",
		    pp->path, q->line, q->text, subject);
}

/* A NUL inside a string the policy reads as a C string: the broker must
 * refuse it, and so does explain. */
static const char *
pol_nul_in(const struct pcall *c)
{
	if (c->url != NULL && strlen(c->url) != c->urllen)
		return "denied: bad URL: it holds a NUL byte";
	if (c->secret != NULL && strlen(c->secret) != c->secretlen)
		return "denied: the secret's name holds a NUL byte";
	return NULL;
}

/* The rule, its pool and the call, before the decision. */
static const struct pool_conf *
pol_print_head(const struct policy *p, const struct pcall *pc,
    const char *rule, int nul)
{
	const struct pool_conf *pool = policy_pool_for(p, rule);
	struct url *u = malloc(sizeof *u);
	char err[256];

	printf("rule: %s\n", rule);
	if (pool != NULL)
		printf("pool: %s (%s:%d)\n", pool->name, p->path, pool->line);
	else
		printf("pool: none: no pool's rules match %s, so it cannot run "
		    "at all\n", rule);
	pol_print_call(pc);
	if (u != NULL && pc->cap == CAP_HTTP && !nul &&
	    url_parse(pc->url, u, err, sizeof err) == 0)
		printf("url: %s\n", u->normalized);
	free(u);
	return pool;
}

static void
pol_print_decision(const struct policy *p, const struct pol_allow *a,
    const struct cap_decision *d)
{
	printf("decision: %s\n", d->allowed ? "allowed" : "denied");
	if (a != NULL)
		printf("line: %s:%d: %s\n", p->path, a->line, a->text);
	else
		printf("line: none: no allow statement matches, so the default "
		    "denies it\n");
	if (d->allow_private)
		printf("allow_private: yes: the address may be loopback, "
		    "private or link-local\n");
	printf("why: %s\n", d->why);
}

static int
pol_report(const struct policy *p, const struct pcall *pc, const char *rule)
{
	struct cap_call c = { .cap = pc->cap, .rule = rule, .method = pc->method,
	    .url = pc->url, .write = pc->write, .key = pc->key,
	    .keylen = pc->keylen, .secret = pc->secret };
	struct pol_quota_print qp = { p->path, 0 };
	const struct pool_conf *pool;
	const struct pol_allow *a = NULL;
	struct cap_decision d = { 0 };
	const char *nul = pol_nul_in(pc);

	pool = pol_print_head(p, pc, rule, nul != NULL);
	c.pool = pool != NULL ? pool->name : NULL;
	if (nul != NULL)
		snprintf(d.why, sizeof d.why, "%s", nul);
	else
		a = policy_decide_by(p, &c, &d);
	pol_print_decision(p, a, &d);
	if (d.allowed) {
		quota_each(p, rule, c.pool, c.cap, pol_print_quota, &qp);
		if (qp.n == 0)
			printf("quota: none\n");
	}
	return d.allowed ? 0 : 1;
}

static int pol_bad(const char *, ...) __attribute__((format(printf, 1, 2)));

static int
pol_bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "moonbox: bad_request: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 2;
}

static int
pol_load(const char *path, struct policy *p)
{
	char err[1024];

	if (policy_load(path, p, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
policy_check(int argc, char **argv)
{
	struct policy p;
	int allows = 0, quotas = 0;

	if (argc != 2)
		return pol_bad("policy check takes one FILE; see moonbox "
		    "policy --help");
	if (pol_load(argv[1], &p) < 0)
		return 2;
	for (int i = 0; i < p.nrules; i++) {
		allows += p.rules[i].nallows;
		quotas += p.rules[i].nquotas;
	}
	for (int i = 0; i < p.npools; i++)
		quotas += p.pools[i].nquotas;
	printf("%s: ok: %d pool%s, %d rule block%s, %d allow statement%s, "
	    "%d quota%s\n", p.path, p.npools, p.npools == 1 ? "" : "s",
	    p.nrules, p.nrules == 1 ? "" : "s", allows, allows == 1 ? "" : "s",
	    quotas, quotas == 1 ? "" : "s");
	policy_free(&p);
	return 0;
}

static int
policy_explain_run(const char *path, const char *rule, const char *call)
{
	struct pcall pc = { 0 };
	struct policy p;
	char err[512];
	int status;

	if (!policy_rule_name_ok(rule, strlen(rule)))
		return pol_bad("--rule %s: %s", rule, "a rule name is segments "
		    "of letters, digits, '_', '-' and '.' joined by '/'");
	if (pol_load(path, &p) < 0)
		return 2;
	if (pcall_eval(call, &pc, err, sizeof err) < 0)
		status = pol_bad("--call: %s", err);
	else
		status = pol_report(&p, &pc, rule);
	pcall_free(&pc);
	policy_free(&p);
	return status;
}

static int
policy_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rule", required_argument, NULL, 'r' },
		{ "call", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *rule = NULL, *call = NULL;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'r')
			rule = optarg;
		else if (ch == 'c')
			call = optarg;
		else if (ch == 'h') {
			pol_usage(stdout);
			return 0;
		} else
			return pol_bad("policy explain: unknown option or "
			    "missing argument: %s", argv[optind - 1]);
	}
	if (optind != argc - 1 || rule == NULL || call == NULL)
		return pol_bad("policy explain takes FILE, --rule NAME and "
		    "--call CALL; see moonbox policy --help");
	return policy_explain_run(argv[optind], rule, call);
}

static const struct cmd_entry policy_cmds[] = {
	{ "check",	"validate a policy file",	policy_check },
	{ "explain",	"say which line decides a call", policy_explain },
};

int
cmd_policy(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		pol_usage(stdout);
		return 0;
	}
	for (size_t i = 0; argc >= 2 &&
	    i < sizeof policy_cmds / sizeof policy_cmds[0]; i++)
		if (strcmp(argv[1], policy_cmds[i].name) == 0)
			return policy_cmds[i].exec(argc - 1, argv + 1);
	pol_usage(stderr);
	return 2;
}
