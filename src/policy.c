/*
 * policy.c: reads a policy file through conf.c into C structures, and
 * judges capability calls against it (policy_decide). One table of
 * keywords at the top level, one inside a pool block, one inside a rule
 * block, and one parser per capability for allow statements. Everything is
 * checked at load time; a call is allowed only by an allow statement that
 * matches it. Uses conf.c, units.c and url.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "policy.h"

#define POLICY_DEFAULT_QUEUE	64
#define POLICY_DEFAULT_RECYCLE	10000
#define POLICY_DEFAULT_GRACE_US	(100u * 1000)
#define POLICY_DEFAULT_IDLE_US	(30ull * 1000 * 1000)
#define POLICY_DEFAULT_CPU_S	3600
#define POLICY_MIN_MEMORY	(256u << 10)

#define POL_WINDOW_MAX_US	(7ull * 24 * 3600 * 1000000)

struct pol_ctx {
	struct policy		*p;
	struct pool_conf	*pool;		/* the pool block being read */
	struct pol_rule		*rule;		/* the rule block being read */
	struct pol_quota	**quotas;	/* where 'quota' adds, and */
	int			*nquotas;	/* how many are there */
};

const char *const policy_methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL
};

static int
pol_oom(struct conf_err *e)
{
	return conf_fail(e, 0, 0, "out of memory");
}

/* Append a copy of s to the vector v of n strings. */
static int
pol_push_str(char ***v, int *n, const char *s, struct conf_err *e)
{
	char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);

	if (nv == NULL)
		return pol_oom(e);
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return pol_oom(e);
	(*n)++;
	return 0;
}

/* Grow an array of n elements of size sz by one zeroed element. */
static void *
pol_grow(void *arr, int *n, size_t sz)
{
	char *a = realloc(arr, (size_t)(*n + 1) * sz);

	if (a == NULL)
		return NULL;
	memset(a + (size_t)*n * sz, 0, sz);
	(*n)++;
	return a;
}

/* The statement as it could be written: what explain prints. */
static char *
pol_stmt_text(const struct conf_stmt *st)
{
	size_t n = strlen(st->name) + 1;
	char *s, *o;

	for (int i = 0; i < st->nargs; i++)
		n += 2 * strlen(st->args[i].text) + 3;
	if ((s = o = malloc(n)) == NULL)
		return NULL;
	o = stpcpy(o, st->name);
	for (int i = 0; i < st->nargs; i++) {
		const struct conf_arg *a = &st->args[i];

		*o++ = ' ';
		if (a->kind != CONF_STRING) {
			o = stpcpy(o, a->text);
			continue;
		}
		*o++ = '"';
		for (const char *t = a->text; *t != '\0'; t++) {
			if (strchr("\"\\\n\t", *t) != NULL)
				*o++ = '\\';
			*o++ = *t == '\n' ? 'n' : *t == '\t' ? 't' : *t;
		}
		*o++ = '"';
	}
	*o = '\0';
	return s;
}

/* Apply a block's statements through its table; an unknown keyword is
 * told which ones the block takes. */
static int
pol_apply(const struct conf_stmt *stmts, int n, const struct conf_key *keys,
    void *ctx, struct conf_err *e, const char *where)
{
	for (int i = 0; i < n; i++) {
		const struct conf_key *k;
		char list[512] = "";

		for (k = keys; k->name != NULL; k++)
			if (strcmp(k->name, stmts[i].name) == 0)
				break;
		if (k->name != NULL) {
			if (conf_apply(&stmts[i], 1, keys, ctx, e) < 0)
				return -1;
			continue;
		}
		for (k = keys; k->name != NULL; k++)
			snprintf(list + strlen(list), sizeof list - strlen(list),
			    "%s%s", k == keys ? "" : k[1].name == NULL ?
			    " or " : ", ", k->name);
		return conf_fail(e, stmts[i].line, stmts[i].col, "unknown "
		    "keyword '%s' %s: expected %s", stmts[i].name, where, list);
	}
	return 0;
}

/* A rule-name pattern, as pool's 'rules' and 'rule' take them. */
static int
pol_pattern(const struct conf_stmt *st, int i, char ***v, int *n,
    struct conf_err *e)
{
	const char *pat;

	if (conf_str(e, st, i, &pat) < 0)
		return -1;
	if (*pat == '\0' || strlen(pat) > PROTO_NAME_MAX ||
	    pat[strspn(pat, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-/*")] != '\0')
		return conf_fail_arg(e, st, i, "expected a rule-name pattern "
		    "like \"payments/*\": letters, digits, '_', '-', '.', '/' "
		    "and '*'");
	return pol_push_str(v, n, pat, e);
}

static void
pool_defaults(struct pool_conf *pc)
{
	memset(pc, 0, sizeof *pc);
	pc->min_workers = 1;
	pc->max_workers = 4;
	pc->queue = POLICY_DEFAULT_QUEUE;
	lim_defaults(&pc->limits);
	pc->recycle = POLICY_DEFAULT_RECYCLE;
	pc->grace_us = POLICY_DEFAULT_GRACE_US;
	pc->idle_us = POLICY_DEFAULT_IDLE_US;
	pc->worker_cpu_s = POLICY_DEFAULT_CPU_S;
}

static int
pool_rules(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct pool_conf *pc = ((struct pol_ctx *)ud)->pool;

	if (st->nargs == 0)
		return conf_fail(e, st->line, st->col, "'rules' names rule-name "
		    "patterns: rules \"payments/*\"");
	for (int i = 0; i < st->nargs; i++)
		if (pol_pattern(st, i, &pc->patterns, &pc->npatterns, e) < 0)
			return -1;
	return 0;
}

static int
pool_count(const struct conf_stmt *st, int i, uint64_t min, uint64_t max,
    uint64_t *out, struct conf_err *e)
{
	char what[64];

	if (conf_count(e, st, i, out) < 0)
		return -1;
	if (*out < min || *out > max) {
		snprintf(what, sizeof what, "must be from %llu to %llu",
		    (unsigned long long)min, (unsigned long long)max);
		return conf_fail_arg(e, st, i, what);
	}
	return 0;
}

/* workers MIN [MAX] */
static int
pool_workers(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct pool_conf *pc = ((struct pol_ctx *)ud)->pool;
	uint64_t lo, hi;

	if (pool_count(st, 0, 0, POLICY_MAX_WORKERS, &lo, e) < 0)
		return -1;
	hi = lo;
	if (st->nargs > 1 && pool_count(st, 1, 1, POLICY_MAX_WORKERS, &hi, e) < 0)
		return -1;
	if (hi < lo || hi == 0)
		return conf_fail(e, st->line, st->col, "'workers': the maximum "
		    "must be at least the minimum, and at least 1");
	pc->min_workers = (unsigned)lo;
	pc->max_workers = (unsigned)hi;
	return 0;
}

static int
pool_queue(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	uint64_t v;

	if (pool_count(st, 0, 0, 1000000, &v, e) < 0)
		return -1;
	((struct pol_ctx *)ud)->pool->queue = (unsigned)v;
	return 0;
}

static int
pool_size(const struct conf_stmt *st, size_t min, size_t max, size_t *out,
    struct conf_err *e)
{
	char what[64];

	if (conf_size(e, st, 0, out) < 0)
		return -1;
	if (*out < min || *out > max) {
		snprintf(what, sizeof what, "must be from %zuK to %zuM",
		    min >> 10, max >> 20);
		return conf_fail_arg(e, st, 0, what);
	}
	return 0;
}

static int
pool_memory(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return pool_size(st, POLICY_MIN_MEMORY, (size_t)4096 << 20,
	    &((struct pol_ctx *)ud)->pool->limits.memory, e);
}

static int
pool_output(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return pool_size(st, 1024, 16u << 20,
	    &((struct pol_ctx *)ud)->pool->limits.output, e);
}

static int
pool_log(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return pool_size(st, 0, 16u << 20,
	    &((struct pol_ctx *)ud)->pool->limits.log, e);
}

static int
pool_address_space(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return pool_size(st, 64u << 20, (size_t)1 << 40,
	    &((struct pol_ctx *)ud)->pool->address_space, e);
}

static int
pool_instructions(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return conf_count(e, st, 0,
	    &((struct pol_ctx *)ud)->pool->limits.instructions);
}

/* calls N: capability calls one invocation may make. */
static int
pool_calls(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return pool_count(st, 0, 0, 100000,
	    &((struct pol_ctx *)ud)->pool->limits.calls, e);
}

static int
pool_recycle(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return conf_count(e, st, 0, &((struct pol_ctx *)ud)->pool->recycle);
}

static int
pool_time(const struct conf_stmt *st, uint64_t min_us, uint64_t max_us,
    uint64_t *out, struct conf_err *e)
{
	if (conf_time(e, st, 0, out) < 0)
		return -1;
	if (*out < min_us || *out > max_us)
		return conf_fail_arg(e, st, 0, "out of range");
	return 0;
}

static int
pool_timeout(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return pool_time(st, 1000, 3600ull * 1000000,
	    &((struct pol_ctx *)ud)->pool->limits.timeout_us, e);
}

static int
pool_grace(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return pool_time(st, 1000, 60ull * 1000000,
	    &((struct pol_ctx *)ud)->pool->grace_us, e);
}

static int
pool_idle(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return pool_time(st, 1000, 24ull * 3600 * 1000000,
	    &((struct pol_ctx *)ud)->pool->idle_us, e);
}

static int
pool_worker_cpu(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	uint64_t us;

	if (pool_time(st, 2000000, 7ull * 24 * 3600 * 1000000, &us, e) < 0)
		return -1;
	((struct pol_ctx *)ud)->pool->worker_cpu_s = (unsigned)(us / 1000000);
	return 0;
}

/* ---- quotas: quota CAP N per invocation|TIME ---- */

static const struct pol_window_unit {
	const char	*suffix;
	uint64_t	 us;
} pol_window_units[] = {
	{ "s", 1000000ull },
	{ "m", 60ull * 1000000 },
	{ "h", 3600ull * 1000000 },
	{ "d", 24ull * 3600 * 1000000 },
};

/* A window length: a whole number of s, m, h or d, from 1s to 7d. */
static int
pol_window(const struct conf_stmt *st, int i, uint64_t *us, const char *or,
    struct conf_err *e)
{
	const char *t = st->args[i].text;
	char what[160], *end = NULL;
	unsigned long long n;

	errno = 0;
	n = st->args[i].kind == CONF_NUMBER ? strtoull(t, &end, 10) : 0;
	for (size_t k = 0; n > 0 && errno == 0 && k < sizeof pol_window_units /
	    sizeof pol_window_units[0]; k++) {
		const struct pol_window_unit *u = &pol_window_units[k];

		if (strcmp(end, u->suffix) == 0 &&
		    n <= POL_WINDOW_MAX_US / u->us) {
			*us = n * u->us;
			return 0;
		}
	}
	snprintf(what, sizeof what, "expected a window like 1s, 10m, 1h or "
	    "1d (from 1s to 7d)%s", or);
	return conf_fail_arg(e, st, i, what);
}

static int
pol_per(const struct conf_stmt *st, int i, struct conf_err *e)
{
	if (st->args[i].kind != CONF_WORD || strcmp(st->args[i].text, "per"))
		return conf_fail_arg(e, st, i, "expected 'per', as in "
		    "quota http 100 per 1m");
	return 0;
}

/* "N per TIME" at args i..i+2, or "N per invocation" with invocation. */
static int
pol_rate(const struct conf_stmt *st, int i, int invocation,
    struct pol_quota *q, struct conf_err *e)
{
	const struct conf_arg *w = &st->args[i + 2];

	if (conf_count(e, st, i, &q->limit) < 0 || pol_per(st, i + 1, e) < 0)
		return -1;
	q->window_us = 0;
	if (invocation && w->kind == CONF_WORD &&
	    strcmp(w->text, "invocation") == 0)
		return 0;
	return pol_window(st, i + 2, &q->window_us, invocation ?
	    ", or 'invocation'" : "", e);
}

static int
pol_quota_cap(const struct conf_stmt *st, int i, int *cap, struct conf_err *e)
{
	enum cap_kind k;

	if (st->args[i].kind == CONF_WORD &&
	    strcmp(st->args[i].text, "calls") == 0) {
		*cap = POLICY_CALLS;
		return 0;
	}
	if (st->args[i].kind != CONF_WORD ||
	    cap_from_name(st->args[i].text, &k) < 0)
		return conf_fail_arg(e, st, i, "unknown capability: expected "
		    "http, kv, secret, log, or calls for all of them");
	*cap = (int)k;
	return 0;
}

/* quota CAP N per invocation|TIME, in a pool or a rule block */
static int
pol_quota_stmt(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct pol_ctx *c = ud;
	struct pol_quota q = { .line = st->line }, *qv;

	if (pol_quota_cap(st, 0, &q.cap, e) < 0 ||
	    pol_rate(st, 1, 1, &q, e) < 0)
		return -1;
	if ((qv = pol_grow(*c->quotas, c->nquotas, sizeof *qv)) == NULL)
		return pol_oom(e);
	*c->quotas = qv;
	q.text = pol_stmt_text(st);
	qv[*c->nquotas - 1] = q;
	return q.text == NULL ? pol_oom(e) : 0;
}

/* ---- allow statements, one parser per capability ---- */

static int
pol_method_bit(const char *m)
{
	for (int i = 0; policy_methods[i] != NULL; i++)
		if (strcmp(policy_methods[i], m) == 0)
			return 1 << i;
	return 0;
}

static int
pol_is_url(const struct conf_arg *a)
{
	return a->kind != CONF_NUMBER && strstr(a->text, "://") != NULL;
}

static int
pol_allow_url(struct pol_allow *a, const struct conf_stmt *st, int i,
    struct conf_err *e)
{
	struct url_pattern *v;
	char why[256];

	if ((v = pol_grow(a->urls, &a->nurls, sizeof *v)) == NULL)
		return pol_oom(e);
	a->urls = v;
	if (url_pattern_parse(st->args[i].text, &v[a->nurls - 1], why,
	    sizeof why) < 0) {
		a->nurls--;
		return conf_fail_arg(e, st, i, why);
	}
	return 0;
}

/* allow http METHOD... URL-PATTERN... [private] */
static int
allow_http(struct pol_allow *a, const struct conf_stmt *st, struct conf_err *e)
{
	int i;

	for (i = 1; i < st->nargs && !pol_is_url(&st->args[i]); i++) {
		int bit = st->args[i].kind != CONF_NUMBER ?
		    pol_method_bit(st->args[i].text) : 0;

		if (bit == 0)
			return conf_fail_arg(e, st, i, "expected a method in "
			    "upper case (GET, HEAD, POST, PUT, PATCH, DELETE "
			    "or OPTIONS) or, after the methods, a URL pattern");
		a->methods |= (unsigned)bit;
	}
	if (a->methods == 0)
		return conf_fail(e, st->line, st->col, "'allow http' names "
		    "methods, then URL patterns: allow http GET "
		    "\"https://api.example.com/v1/*\"");
	for (; i < st->nargs; i++) {
		const struct conf_arg *g = &st->args[i];

		if (i == st->nargs - 1 && a->nurls > 0 &&
		    g->kind == CONF_WORD && strcmp(g->text, "private") == 0)
			a->private_ok = 1;
		else if (!pol_is_url(g))
			return conf_fail_arg(e, st, i, "expected a URL pattern "
			    "like \"https://api.example.com/v1/*\", or "
			    "'private' last");
		else if (pol_allow_url(a, st, i, e) < 0)
			return -1;
	}
	if (a->nurls == 0)
		return conf_fail(e, st->line, st->col, "'allow http' needs a "
		    "URL pattern after its methods, like "
		    "\"https://api.example.com/v1/*\"");
	return 0;
}

/* One name or key prefix: not empty, not too long. */
static int
pol_allow_name(struct pol_allow *a, const struct conf_stmt *st, int i,
    const char *what, const char *hint, struct conf_err *e)
{
	const char *s;
	char why[160];

	if (conf_str(e, st, i, &s) < 0)
		return -1;
	if (*s == '\0')
		return conf_fail(e, st->args[i].line, st->args[i].col, "'allow "
		    "%s': the %s is empty: %s", st->args[0].text, what, hint);
	if (strlen(s) > POLICY_NAME_MAX) {
		snprintf(why, sizeof why, "the %s is longer than %d bytes",
		    what, POLICY_NAME_MAX);
		return conf_fail_arg(e, st, i, why);
	}
	return pol_push_str(&a->names, &a->nnames, s, e);
}

/* allow kv read|write... PREFIX... */
static int
allow_kv(struct pol_allow *a, const struct conf_stmt *st, struct conf_err *e)
{
	int i;

	for (i = 1; i < st->nargs && st->args[i].kind == CONF_WORD; i++) {
		if (strcmp(st->args[i].text, "read") == 0)
			a->read = 1;
		else if (strcmp(st->args[i].text, "write") == 0)
			a->write = 1;
		else
			break;
	}
	if (!a->read && !a->write)
		return conf_fail(e, st->line, st->col, "'allow kv' says read, "
		    "write or both, then key prefixes: allow kv read "
		    "\"payments:\"");
	if (i == st->nargs)
		return conf_fail(e, st->line, st->col, "'allow kv' needs key "
		    "prefixes after read or write, like \"payments:\" (quote "
		    "a prefix named read or write)");
	for (; i < st->nargs; i++)
		if (pol_allow_name(a, st, i, "key prefix", "name the keys the "
		    "rule may use, like \"payments:\"", e) < 0)
			return -1;
	return 0;
}

/* allow secret NAME... */
static int
allow_secret(struct pol_allow *a, const struct conf_stmt *st,
    struct conf_err *e)
{
	if (st->nargs < 2)
		return conf_fail(e, st->line, st->col, "'allow secret' names "
		    "the secrets: allow secret \"stripe_key\"");
	for (int i = 1; i < st->nargs; i++)
		if (pol_allow_name(a, st, i, "secret's name", "write the "
		    "name the rule passes to secrets.get", e) < 0)
			return -1;
	return 0;
}

/* allow log [rate N per TIME] */
static int
allow_log(struct pol_allow *a, const struct conf_stmt *st, struct conf_err *e)
{
	if (st->nargs == 1)
		return 0;
	if (st->nargs != 5 || st->args[1].kind != CONF_WORD ||
	    strcmp(st->args[1].text, "rate") != 0)
		return conf_fail_arg(e, st, 1, "'allow log' takes nothing, or "
		    "a rate: allow log rate 100 per 1s");
	a->rate.line = a->line;
	a->rate.cap = CAP_LOG;
	if (pol_rate(st, 2, 0, &a->rate, e) < 0)
		return -1;
	if (a->rate.limit == 0)
		return conf_fail_arg(e, st, 2, "a rate of 0 allows nothing: "
		    "remove the statement instead");
	return (a->rate.text = strdup(a->text)) == NULL ? pol_oom(e) : 0;
}

static int (*const pol_allow_parsers[CAP_KIND_COUNT])(struct pol_allow *,
    const struct conf_stmt *, struct conf_err *) = {
	[CAP_LOG] = allow_log,
	[CAP_KV] = allow_kv,
	[CAP_HTTP] = allow_http,
	[CAP_SECRET] = allow_secret,
};

/* allow CAP ... */
static int
rule_allow(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct pol_rule *r = ((struct pol_ctx *)ud)->rule;
	struct pol_allow *v, *a;
	enum cap_kind k;

	if (st->nargs == 0)
		return conf_fail(e, st->line, st->col, "'allow' names a "
		    "capability: http, kv, secret or log");
	if (st->args[0].kind != CONF_WORD ||
	    cap_from_name(st->args[0].text, &k) < 0)
		return conf_fail_arg(e, st, 0, "unknown capability: expected "
		    "http, kv, secret or log");
	if ((v = pol_grow(r->allows, &r->nallows, sizeof *v)) == NULL)
		return pol_oom(e);
	r->allows = v;
	a = &v[r->nallows - 1];
	a->line = st->line;
	a->cap = k;
	if ((a->text = pol_stmt_text(st)) == NULL)
		return pol_oom(e);
	return pol_allow_parsers[k](a, st, e);
}

static const struct conf_key rule_keys[] = {
	{ "allow",	0, -1, 0, rule_allow },
	{ "quota",	4, 4, 0, pol_quota_stmt },
	{ NULL, 0, 0, 0, NULL }
};

/* rule PATTERN... { ... } */
static int
pol_rule(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct pol_ctx *c = ud;
	struct pol_rule *v, *r;

	if (c->p->nrules >= POLICY_MAX_RULE_BLOCKS)
		return conf_fail(e, st->line, st->col, "too many rule blocks: "
		    "at most %d", POLICY_MAX_RULE_BLOCKS);
	if ((v = pol_grow(c->p->rules, &c->p->nrules, sizeof *v)) == NULL)
		return pol_oom(e);
	c->p->rules = v;
	r = &v[c->p->nrules - 1];
	r->line = st->line;
	if (st->nargs == 0)
		return conf_fail(e, st->line, st->col, "'rule' names rule-name "
		    "patterns: rule \"payments/*\" { ... }");
	for (int i = 0; i < st->nargs; i++)
		if (pol_pattern(st, i, &r->patterns, &r->npatterns, e) < 0)
			return -1;
	c->rule = r;
	c->quotas = &r->quotas;
	c->nquotas = &r->nquotas;
	return pol_apply(st->block, st->nblock, rule_keys, c, e,
	    "in a rule block");
}

static const struct conf_key pool_keys[] = {
	{ "rules",		0, -1, 0, pool_rules },
	{ "workers",		1, 2, 0, pool_workers },
	{ "queue",		1, 1, 0, pool_queue },
	{ "calls",		1, 1, 0, pool_calls },
	{ "memory",		1, 1, 0, pool_memory },
	{ "instructions",	1, 1, 0, pool_instructions },
	{ "timeout",		1, 1, 0, pool_timeout },
	{ "output",		1, 1, 0, pool_output },
	{ "log",		1, 1, 0, pool_log },
	{ "recycle",		1, 1, 0, pool_recycle },
	{ "grace",		1, 1, 0, pool_grace },
	{ "idle",		1, 1, 0, pool_idle },
	{ "worker-cpu",		1, 1, 0, pool_worker_cpu },
	{ "address-space",	1, 1, 0, pool_address_space },
	{ "quota",		4, 4, 0, pol_quota_stmt },
	{ NULL, 0, 0, 0, NULL }
};

static int
pol_pool_name(struct pol_ctx *c, const struct conf_stmt *st,
    struct pool_conf *pc, struct conf_err *e)
{
	const char *name;

	if (conf_str(e, st, 0, &name) < 0)
		return -1;
	if (!policy_rule_name_ok(name, strlen(name)) || strchr(name, '/'))
		return conf_fail_arg(e, st, 0, "a pool name is letters, "
		    "digits, '_', '-' and '.'");
	for (int i = 0; i < c->p->npools; i++)
		if (strcmp(c->p->pools[i].name, name) == 0)
			return conf_fail_arg(e, st, 0, "a pool of this name "
			    "is already defined");
	snprintf(pc->name, sizeof pc->name, "%s", name);
	pc->line = st->line;
	return 0;
}

/* pool NAME { ... } */
static int
pol_pool(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct pol_ctx *c = ud;
	struct pool_conf *pools, *pc;

	if (c->p->npools >= POLICY_MAX_POOLS)
		return conf_fail(e, st->line, st->col, "too many pools");
	pools = realloc(c->p->pools, (size_t)(c->p->npools + 1) * sizeof *pools);
	if (pools == NULL)
		return conf_fail(e, 0, 0, "out of memory");
	c->p->pools = pools;
	pc = &pools[c->p->npools++];
	pool_defaults(pc);
	c->pool = pc;
	c->quotas = &pc->quotas;
	c->nquotas = &pc->nquotas;
	if (pol_pool_name(c, st, pc, e) < 0 ||
	    pol_apply(st->block, st->nblock, pool_keys, c, e,
	    "in a pool block") < 0)
		return -1;
	if (pc->npatterns == 0)
		return conf_fail(e, st->line, st->col, "pool '%s' runs no "
		    "rules: add a 'rules' line", pc->name);
	return 0;
}

static const struct conf_key policy_keys[] = {
	{ "pool",	1, 1, 1, pol_pool },
	{ "rule",	0, -1, 1, pol_rule },
	{ NULL, 0, 0, 0, NULL }
};

static int
policy_apply(const struct conf_file *f, struct policy *p, struct conf_err *e)
{
	struct pol_ctx c = { .p = p };

	if (pol_apply(f->stmts, f->nstmts, policy_keys, &c, e,
	    "at the top level") < 0)
		return -1;
	if (p->npools == 0)
		return conf_fail(e, 0, 0, "the policy names no pool, so no "
		    "rule can run: add a 'pool' block");
	return 0;
}

static int
policy_finish(const char *path, struct conf_file *f, struct policy *p,
    char *err, size_t len)
{
	struct conf_err e = { path, err, len };
	int r;

	memset(p, 0, sizeof *p);
	if ((p->path = strdup(path)) == NULL)
		r = conf_fail(&e, 0, 0, "out of memory");
	else
		r = policy_apply(f, p, &e);
	conf_free(f);
	if (r < 0)
		policy_free(p);
	return r;
}

int
policy_load(const char *path, struct policy *p, char *err, size_t len)
{
	struct conf_file f;

	memset(p, 0, sizeof *p);
	if (conf_read(path, &f, err, len) < 0)
		return -1;
	return policy_finish(path, &f, p, err, len);
}

int
policy_parse(const char *path, const char *text, size_t n, struct policy *p,
    char *err, size_t len)
{
	struct conf_file f;

	memset(p, 0, sizeof *p);
	if (conf_parse(path, text, n, &f, err, len) < 0)
		return -1;
	return policy_finish(path, &f, p, err, len);
}

static void
pol_free_strs(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
pol_free_quotas(struct pol_quota *q, int n)
{
	for (int i = 0; i < n; i++)
		free(q[i].text);
	free(q);
}

static void
pol_free_rule(struct pol_rule *r)
{
	pol_free_strs(r->patterns, r->npatterns);
	for (int i = 0; i < r->nallows; i++) {
		struct pol_allow *a = &r->allows[i];

		for (int k = 0; k < a->nurls; k++)
			url_pattern_free(&a->urls[k]);
		free(a->urls);
		pol_free_strs(a->names, a->nnames);
		free(a->rate.text);
		free(a->text);
	}
	free(r->allows);
	pol_free_quotas(r->quotas, r->nquotas);
}

void
policy_free(struct policy *p)
{
	for (int i = 0; i < p->npools; i++) {
		pol_free_strs(p->pools[i].patterns, p->pools[i].npatterns);
		pol_free_quotas(p->pools[i].quotas, p->pools[i].nquotas);
	}
	for (int i = 0; i < p->nrules; i++)
		pol_free_rule(&p->rules[i]);
	free(p->rules);
	free(p->pools);
	free(p->path);
	memset(p, 0, sizeof *p);
}

int
policy_match(const char *pat, const char *name)
{
	if (*pat == '\0')
		return *name == '\0';
	if (pat[0] == '*' && pat[1] == '*') {
		for (const char *s = name;; s++) {
			if (policy_match(pat + 2, s))
				return 1;
			if (*s == '\0')
				return 0;
		}
	}
	if (*pat == '*') {
		for (const char *s = name;; s++) {
			if (policy_match(pat + 1, s))
				return 1;
			if (*s == '\0' || *s == '/')
				return 0;
		}
	}
	return *pat == *name && policy_match(pat + 1, name + 1);
}

const struct pool_conf *
policy_pool_for(const struct policy *p, const char *rule)
{
	for (int i = 0; i < p->npools; i++)
		for (int k = 0; k < p->pools[i].npatterns; k++)
			if (policy_match(p->pools[i].patterns[k], rule))
				return &p->pools[i];
	return NULL;
}

int
policy_rule_name_ok(const char *s, size_t n)
{
	int seg = 0;	/* length of the current segment */

	if (n == 0 || n > PROTO_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '/') {
			if (seg == 0)
				return 0;
			seg = 0;
			continue;
		}
		if (seg == 0 && ch == '.')
			return 0;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		    ch == '.'))
			return 0;
		seg++;
	}
	return seg > 0;
}

/* ---- decisions ---- */

const struct pool_conf *
policy_pool_named(const struct policy *p, const char *name)
{
	for (int i = 0; name != NULL && i < p->npools; i++)
		if (strcmp(p->pools[i].name, name) == 0)
			return &p->pools[i];
	return NULL;
}

int
policy_rule_applies(const struct pol_rule *r, const char *rule)
{
	for (int i = 0; i < r->npatterns; i++)
		if (policy_match(r->patterns[i], rule))
			return 1;
	return 0;
}

const struct pol_allow *
policy_log_allow(const struct policy *p, const char *rule)
{
	for (int i = 0; i < p->nrules; i++) {
		if (!policy_rule_applies(&p->rules[i], rule))
			continue;
		for (int k = 0; k < p->rules[i].nallows; k++)
			if (p->rules[i].allows[k].cap == CAP_LOG)
				return &p->rules[i].allows[k];
	}
	return NULL;
}

/* What one call is judged on, and the nearest miss so far. */
struct pol_judge {
	const struct cap_call	*call;
	const struct url	*url;		/* http: the call's, parsed */
	unsigned		 method;	/* http: its bit */
	int			 seen;		/* allows of the capability */
	int			 depth;		/* of the nearest miss; 0: none */
	char			 miss[200];	/* what it wanted */
};

/* Bytes for a message: printable ASCII kept, the rest as \xNN, cut. */
static void
pol_printable(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 8 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	memcpy(out + o, i < n ? "..." : "", i < n ? 4 : 1);
}

static void
pol_method_list(unsigned bits, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; policy_methods[i] != NULL; i++)
		if (bits & (1u << i))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
			    buf[0] != '\0' ? " " : "", policy_methods[i]);
}

static void
pol_http_miss(const struct pol_judge *j, const struct pol_allow *a,
    const struct url_pattern *pat, int depth, char *buf, size_t len)
{
	const struct url *u = j->url;
	char want[URL_HOST_MAX + 16], got[80];

	switch (depth) {
	case URL_MISS_SCHEME:
		snprintf(buf, len, "line %d wants scheme %s, not %s", a->line,
		    pat->scheme, u->scheme);
		return;
	case URL_MISS_HOST:
		url_pattern_host(pat, want, sizeof want);
		snprintf(buf, len, "line %d wants host %s, not %s", a->line,
		    want, u->host);
		return;
	case URL_MISS_PORT:
		snprintf(buf, len, "line %d wants port %d%s, not %d", a->line,
		    pat->port == URL_PORT_DEFAULT ?
		    url_default_port(pat->scheme) : pat->port,
		    pat->port == URL_PORT_DEFAULT ? " (the default)" : "",
		    u->port);
		return;
	case URL_MISS_PATH:
		pol_printable(u->path, strlen(u->path), got, sizeof got);
		snprintf(buf, len, "line %d wants path %s, not %s", a->line,
		    pat->path, got);
		return;
	default:
		pol_method_list(a->methods, want, sizeof want);
		snprintf(buf, len, "line %d wants method %s, not %s", a->line,
		    want, j->call->method);
	}
}

typedef int (*pol_judge_fn)(const struct pol_judge *,
    const struct pol_allow *, char *, size_t, int *);

/* Each judge: 0 if the statement allows the call; else how far the call
 * got through its constraints (more is nearer), with what it wanted. */
static int
judge_http(const struct pol_judge *j, const struct pol_allow *a, char *buf,
    size_t len, int *priv)
{
	int best = 0;

	for (int k = 0; k < a->nurls; k++) {
		enum url_miss m = url_pattern_match(&a->urls[k], j->url);
		int d = m != URL_MATCH ? (int)m :
		    (a->methods & j->method) ? 0 : URL_MISS_PATH + 1;

		if (d == 0) {
			*priv = a->private_ok || a->urls[k].ip != 0;
			return 0;
		}
		if (d > best) {
			best = d;
			pol_http_miss(j, a, &a->urls[k], d, buf, len);
		}
	}
	return best;
}

static int
judge_kv(const struct pol_judge *j, const struct pol_allow *a, char *buf,
    size_t len, int *priv)
{
	const struct cap_call *c = j->call;
	char key[64];

	for (int k = 0; k < a->nnames; k++) {
		size_t n = strlen(a->names[k]);

		if (c->keylen < n || memcmp(c->key, a->names[k], n) != 0)
			continue;
		if (c->write ? a->write : a->read)
			return 0;
		snprintf(buf, len, "line %d wants access %s under prefix %s, "
		    "not a %s", a->line, a->read ? "read" : "write",
		    a->names[k], c->write ? "write" : "read");
		return 2;
	}
	pol_printable(c->key, c->keylen, key, sizeof key);
	snprintf(buf, len, "line %d wants prefix %s%s, not key %s", a->line,
	    a->names[0], a->nnames > 1 ? " (or another of its)" : "", key);
	return 1;
}

static int
judge_secret(const struct pol_judge *j, const struct pol_allow *a,
    char *buf, size_t len, int *priv)
{
	char name[64];

	for (int k = 0; k < a->nnames; k++)
		if (strcmp(a->names[k], j->call->secret) == 0)
			return 0;
	pol_printable(j->call->secret, strlen(j->call->secret), name,
	    sizeof name);
	snprintf(buf, len, "line %d wants name %s%s, not %s", a->line,
	    a->names[0], a->nnames > 1 ? " (or another of its)" : "", name);
	return 1;
}

static int
judge_log(const struct pol_judge *j, const struct pol_allow *a, char *buf,
    size_t len, int *priv)
{
	return 0;
}

static const pol_judge_fn pol_judges[CAP_KIND_COUNT] = {
	[CAP_LOG] = judge_log,
	[CAP_KV] = judge_kv,
	[CAP_HTTP] = judge_http,
	[CAP_SECRET] = judge_secret,
};

static void pol_deny(struct cap_decision *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
pol_deny(struct cap_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->allowed = 0;
	d->line = 0;
	d->allow_private = 0;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof d->why, fmt, ap);
	va_end(ap);
}

/* The call's own fields, before any statement sees it. */
static int
pol_call_ok(const struct cap_call *c, struct pol_judge *j, struct url *u,
    struct cap_decision *d)
{
	char why[200];

	if (c->rule == NULL || !policy_rule_name_ok(c->rule, strlen(c->rule)))
		return pol_deny(d, "denied: the call names no valid rule"), -1;
	if ((unsigned)c->cap >= CAP_KIND_COUNT)
		return pol_deny(d, "denied: unknown capability"), -1;
	if (c->cap == CAP_KV && c->key == NULL)
		return pol_deny(d, "denied: the kv call has no key"), -1;
	if (c->cap == CAP_SECRET && c->secret == NULL)
		return pol_deny(d, "denied: the call names no secret"), -1;
	if (c->cap != CAP_HTTP)
		return 0;
	if (c->method == NULL || (j->method =
	    (unsigned)pol_method_bit(c->method)) == 0)
		return pol_deny(d, "denied: method %s is not one a policy "
		    "allows (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)",
		    c->method != NULL ? c->method : "(none)"), -1;
	if (c->url == NULL || url_parse(c->url, u, why, sizeof why) < 0)
		return pol_deny(d, "denied: bad URL: %s", c->url != NULL ?
		    why : "the call has none"), -1;
	j->url = u;
	return 0;
}

/* The first allow statement, in file order, that allows the call. */
static const struct pol_allow *
pol_find(const struct policy *p, struct pol_judge *j, int *priv)
{
	const struct cap_call *c = j->call;

	for (int i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		if (!policy_rule_applies(r, c->rule))
			continue;
		for (int k = 0; k < r->nallows; k++) {
			const struct pol_allow *a = &r->allows[k];
			char miss[sizeof j->miss];
			int d;

			if (a->cap != c->cap)
				continue;
			j->seen++;
			if ((d = pol_judges[c->cap](j, a, miss, sizeof miss,
			    priv)) == 0)
				return a;
			if (d > j->depth) {
				j->depth = d;
				memcpy(j->miss, miss, sizeof miss);
			}
		}
	}
	return NULL;
}

const struct pol_allow *
policy_decide_by(const struct policy *p, const struct cap_call *c,
    struct cap_decision *d)
{
	struct pol_judge j = { .call = c };
	const struct pol_allow *a = NULL;
	struct url *u = malloc(sizeof *u);
	int priv = 0;

	memset(d, 0, sizeof *d);
	if (u == NULL)
		pol_deny(d, "denied: out of memory");
	else if (pol_call_ok(c, &j, u, d) == 0 &&
	    (a = pol_find(p, &j, &priv)) != NULL) {
		d->allowed = 1;
		d->line = a->line;
		d->allow_private = priv;
		snprintf(d->why, sizeof d->why, "allowed by line %d", a->line);
	} else if (d->why[0] == '\0' && j.seen == 0)
		pol_deny(d, "denied by default: no allow statement for %s "
		    "matches rule %s", cap_name(c->cap), c->rule);
	else if (d->why[0] == '\0')
		snprintf(d->why, sizeof d->why, "denied by default: no allow "
		    "%s statement for rule %s matches; nearest: %s",
		    cap_name(c->cap), c->rule, j.miss);
	free(u);
	return a;
}

void
policy_decide(const struct policy *p, const struct cap_call *c,
    struct cap_decision *d)
{
	(void)policy_decide_by(p, c, d);
}
