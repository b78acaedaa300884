/*
 * policy.c: reads a policy file through conf.c into C structures: one
 * table of keywords at the top level, one inside a pool block. Uses conf.c
 * and units.c.
 */
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

struct pol_ctx {
	struct policy		*p;
	struct pool_conf	*pool;	/* the block being read */
};

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
	char **p;

	for (int i = 0; i < st->nargs; i++) {
		const char *pat;

		if (conf_str(e, st, i, &pat) < 0)
			return -1;
		if (*pat == '\0' || strlen(pat) > PROTO_NAME_MAX)
			return conf_fail_arg(e, st, i, "expected a rule-name "
			    "pattern like \"payments/*\"");
		if ((p = realloc(pc->patterns, (size_t)(pc->npatterns + 1) *
		    sizeof *p)) == NULL)
			return conf_fail(e, 0, 0, "out of memory");
		pc->patterns = p;
		if ((p[pc->npatterns] = strdup(pat)) == NULL)
			return conf_fail(e, 0, 0, "out of memory");
		pc->npatterns++;
	}
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

static const struct conf_key pool_keys[] = {
	{ "rules",		1, -1, 0, pool_rules },
	{ "workers",		1, 2, 0, pool_workers },
	{ "queue",		1, 1, 0, pool_queue },
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
	if (pol_pool_name(c, st, pc, e) < 0 ||
	    conf_apply(st->block, st->nblock, pool_keys, c, e) < 0)
		return -1;
	if (pc->npatterns == 0)
		return conf_fail(e, st->line, st->col, "pool '%s' runs no "
		    "rules: add a 'rules' line", pc->name);
	return 0;
}

static const struct conf_key policy_keys[] = {
	{ "pool",	1, 1, 1, pol_pool },
	{ NULL, 0, 0, 0, NULL }
};

static int
policy_apply(const struct conf_file *f, struct policy *p, struct conf_err *e)
{
	struct pol_ctx c = { .p = p };

	if (conf_apply(f->stmts, f->nstmts, policy_keys, &c, e) < 0)
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

void
policy_free(struct policy *p)
{
	for (int i = 0; i < p->npools; i++) {
		for (int k = 0; k < p->pools[i].npatterns; k++)
			free(p->pools[i].patterns[k]);
		free(p->pools[i].patterns);
	}
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
