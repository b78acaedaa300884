/*
 * invreq.c: reading an invoke request (invreq.h), strictly: a rule name of
 * path segments, an input of at most 64 levels, options from one table,
 * and nothing left over. Uses mpr.c and policy.c (rule names).
 */
#include <stdio.h>
#include <string.h>

#include "invreq.h"
#include "policy.h"

static const struct {
	const char	*name;
	uint64_t	 min;		/* smallest value allowed */
	int		 boolean;
} invopt_table[INVOPT_COUNT] = {
	[INVOPT_DEADLINE]	= { "deadline",		1, 0 },
	[INVOPT_MEMORY]		= { "memory",		1, 0 },
	[INVOPT_INSTRUCTIONS]	= { "instructions",	1, 0 },
	[INVOPT_OUTPUT]		= { "output",		1, 0 },
	[INVOPT_LOG]		= { "log",		0, 0 },
	[INVOPT_CALLS]		= { "calls",		0, 0 },
	[INVOPT_RECORD]		= { "record",		0, 1 },
};

static int
invreq_fail(char *err, size_t len, const char *what)
{
	snprintf(err, len, "%s", what);
	return -1;
}

int
invopts_set(struct invopts *o, const char *name, size_t n, uint64_t v,
    char *err, size_t len)
{
	for (int i = 0; i < INVOPT_COUNT; i++) {
		if (strlen(invopt_table[i].name) != n ||
		    memcmp(invopt_table[i].name, name, n) != 0)
			continue;
		if (v < invopt_table[i].min) {
			snprintf(err, len, "option %s must be at least %llu",
			    invopt_table[i].name,
			    (unsigned long long)invopt_table[i].min);
			return -1;
		}
		o->v[i] = v;
		o->given |= 1u << i;
		return 0;
	}
	snprintf(err, len, "unknown option '%.*s'", (int)(n > 32 ? 32 : n),
	    name);
	return -1;
}

static int
invreq_options(struct mpr *r, struct invopts *o, char *err, size_t len)
{
	struct mpr_item it;
	uint32_t n;

	if (mpr_is_nil(r))
		return 0;
	if (mpr_map(r, &n) < 0)
		return invreq_fail(err, len, "options must be a map");
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kn;
		uint64_t v;

		if (mpr_str(r, &k, &kn) < 0)
			return invreq_fail(err, len, "option names are strings");
		if (mpr_next(r, &it) < 0)
			return invreq_fail(err, len, r->err);
		if (it.type == MPR_BOOL)
			v = (uint64_t)it.v.b;
		else if (it.type == MPR_INT && it.v.i >= 0)
			v = (uint64_t)it.v.i;
		else if (it.type == MPR_UINT)
			v = it.v.u;
		else {
			snprintf(err, len, "option %.*s must be a non-negative "
			    "integer or a boolean", (int)(kn > 32 ? 32 : kn), k);
			return -1;
		}
		if (invopts_set(o, k, kn, v, err, len) < 0)
			return -1;
	}
	return 0;
}

static int
invreq_rule(struct mpr *r, struct invreq *q, char *err, size_t len)
{
	const char *name;
	size_t n;

	if (mpr_str(r, &name, &n) < 0 || !policy_rule_name_ok(name, n))
		return invreq_fail(err, len, "the rule name must be a string of "
		    "path segments of letters, digits, '_', '-' and '.'");
	memcpy(q->rule, name, n);
	q->rule[n] = '\0';
	return 0;
}

static int
invreq_input(struct mpr *r, struct invreq *q, char *err, size_t len)
{
	const char *p;
	size_t n;

	if (mpr_raw(r, MPR_MAX_DEPTH, &p, &n) < 0) {
		snprintf(err, len, "input: %s", strcmp(r->err,
		    "nesting is too deep") == 0 ? "nesting is deeper than 64 "
		    "levels" : r->err);
		return -1;
	}
	if (n == 1 && (unsigned char)p[0] == 0xc0)
		return 0;		/* nil */
	q->input = p;
	q->input_len = n;
	return 0;
}

int
invreq_from_rpc(struct mpr *r, uint32_t nparams, struct invreq *q, char *err,
    size_t len)
{
	memset(q, 0, sizeof *q);
	if (nparams < 2 || nparams > 3)
		return invreq_fail(err, len, "invoke takes [rule, input] or "
		    "[rule, input, options]");
	if (invreq_rule(r, q, err, len) < 0 || invreq_input(r, q, err, len) < 0)
		return -1;
	if (nparams == 3 && invreq_options(r, &q->opts, err, len) < 0)
		return -1;
	if (mpr_end(r) < 0)
		return invreq_fail(err, len, "bytes left over after the request");
	return 0;
}

static int
invopts_has(const struct invopts *o, enum invopt i)
{
	return (o->given >> i) & 1;
}

void
invopts_apply(const struct invopts *o, struct lim_config *l)
{
	const uint64_t *v = o->v;

	if (invopts_has(o, INVOPT_DEADLINE) &&
	    v[INVOPT_DEADLINE] <= UINT64_MAX / 1000 &&
	    v[INVOPT_DEADLINE] * 1000 < l->timeout_us)
		l->timeout_us = v[INVOPT_DEADLINE] * 1000;
	if (invopts_has(o, INVOPT_MEMORY) && v[INVOPT_MEMORY] < l->memory)
		l->memory = (size_t)v[INVOPT_MEMORY];
	if (invopts_has(o, INVOPT_INSTRUCTIONS) && (l->instructions == 0 ||
	    v[INVOPT_INSTRUCTIONS] < l->instructions))
		l->instructions = v[INVOPT_INSTRUCTIONS];
	if (invopts_has(o, INVOPT_OUTPUT) && v[INVOPT_OUTPUT] < l->output)
		l->output = (size_t)v[INVOPT_OUTPUT];
	if (invopts_has(o, INVOPT_LOG) && v[INVOPT_LOG] < l->log)
		l->log = (size_t)v[INVOPT_LOG];
	if (invopts_has(o, INVOPT_CALLS) && v[INVOPT_CALLS] < l->calls)
		l->calls = v[INVOPT_CALLS];
}

int
invopts_record(const struct invopts *o)
{
	return invopts_has(o, INVOPT_RECORD) && o->v[INVOPT_RECORD] != 0;
}
