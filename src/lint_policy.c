/*
 * lint_policy.c: moonbox check --policy. Each capability call the rule
 * makes with constant arguments is put to the policy as the broker would
 * put it (policy_decide): a call no allow statement could ever allow is an
 * error. A kv key known only by its prefix ("payments:" .. id) could be
 * allowed when the prefix and an allowed prefix of the right kind (read
 * or write) agree as far as the shorter goes; an http call whose method is
 * not a constant, when some method is allowed. Calls whose arguments are
 * not constants are not judged. Uses policy.c.
 */
#include <stdio.h>
#include <string.h>

#include "cap.h"
#include "lint.h"
#include "policy.h"

struct lint_pol {
	const struct policy	*p;
	const char		*path;		/* the policy file, for messages */
	const char		*rule;
	const char		*pool;
	struct lint_report	*rep;
};

/* A value for a message: as a Lua string, cut, "…" for a prefix. */
static void
lint_quote(const struct lint_call *c, char *out, size_t len)
{
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < c->len && o + 8 < len; i++) {
		unsigned char ch = (unsigned char)c->value[i];

		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\%u", ch);
		else
			out[o++] = (char)ch;
	}
	snprintf(out + o, len - o, "\"%s", c->complete ? "" : " .. …");
}

/* kv statements are told apart by what they allow. */
enum lint_kind { LINT_ANY, LINT_READ, LINT_WRITE };

static int
lint_kind_ok(const struct pol_allow *a, enum lint_kind k)
{
	return k == LINT_ANY || (k == LINT_READ ? a->read : a->write);
}

/* How many allow statements of the capability (and kind) apply to the
 * rule, and their lines. */
static int
lint_allows_of(const struct lint_pol *lp, enum cap_kind cap,
    enum lint_kind kind, char *lines, size_t len)
{
	int n = 0;
	size_t o = 0;

	lines[0] = '\0';
	for (int i = 0; i < lp->p->nrules; i++) {
		const struct pol_rule *r = &lp->p->rules[i];

		if (!policy_rule_applies(r, lp->rule))
			continue;
		for (int k = 0; k < r->nallows; k++) {
			if (r->allows[k].cap != cap ||
			    !lint_kind_ok(&r->allows[k], kind))
				continue;
			if (o + 16 < len)
				o += (size_t)snprintf(lines + o, len - o, "%s%d",
				    n > 0 ? ", " : "", r->allows[k].line);
			n++;
		}
	}
	return n;
}

static void
lint_never(const struct lint_pol *lp, const struct lint_call *c,
    enum cap_kind cap, enum lint_kind kind, const char *what)
{
	static const char *const kinds[] = { "", " read", " write" };
	char lines[128];
	int n = lint_allows_of(lp, cap, kind, lines, sizeof lines);

	if (n == 0)
		lint_add(lp->rep, c->line, c->col, LINT_ERROR, "never-allowed",
		    "%s is never allowed for rule %s (%s has no allow %s%s for "
		    "it)", what, lp->rule, lp->path, cap_name(cap), kinds[kind]);
	else
		lint_add(lp->rep, c->line, c->col, LINT_ERROR, "never-allowed",
		    "%s is never allowed for rule %s (no allow %s%s of %s "
		    "matches it: line%s %s)", what, lp->rule, cap_name(cap),
		    kinds[kind], lp->path, n > 1 ? "s" : "", lines);
}

static int
lint_allowed(const struct lint_pol *lp, struct cap_call *call)
{
	struct cap_decision d;

	call->rule = lp->rule;
	call->pool = lp->pool;
	policy_decide(lp->p, call, &d);
	return d.allowed;
}

static void
lint_http(const struct lint_pol *lp, const struct lint_call *c)
{
	struct cap_call call = { .cap = CAP_HTTP, .url = c->value };
	char what[600];
	int ok = 0;

	if (c->value == NULL || !c->complete)
		return;
	if (c->http_method[0] != '\0') {
		call.method = c->http_method;
		ok = lint_allowed(lp, &call);
		snprintf(what, sizeof what, "http %s %s", c->http_method,
		    c->value);
	} else {
		for (int i = 0; !ok && policy_methods[i] != NULL; i++) {
			call.method = policy_methods[i];
			ok = lint_allowed(lp, &call);
		}
		snprintf(what, sizeof what, "http %s with any method",
		    c->value);
	}
	if (!ok)
		lint_never(lp, c, CAP_HTTP, LINT_ANY, what);
}

/* Whether an allowed prefix agrees with the call's known prefix. */
static int
lint_kv_prefix_ok(const struct lint_pol *lp, const struct lint_call *c,
    int write)
{
	for (int i = 0; i < lp->p->nrules; i++) {
		const struct pol_rule *r = &lp->p->rules[i];

		if (!policy_rule_applies(r, lp->rule))
			continue;
		for (int k = 0; k < r->nallows; k++) {
			const struct pol_allow *a = &r->allows[k];

			if (a->cap != CAP_KV ||
			    !lint_kind_ok(a, write ? LINT_WRITE : LINT_READ))
				continue;
			for (int n = 0; n < a->nnames; n++) {
				size_t pl = strlen(a->names[n]);
				size_t m = pl < c->len ? pl : c->len;

				if (memcmp(a->names[n], c->value, m) == 0)
					return 1;
			}
		}
	}
	return 0;
}

static void
lint_kv(const struct lint_pol *lp, const struct lint_call *c)
{
	struct cap_call call = { .cap = CAP_KV, .key = c->value,
	    .keylen = c->len };
	char what[600], q[520];
	int ok;

	if (c->value == NULL)
		return;
	call.write = strcmp(c->method, "get") != 0;
	ok = c->complete ? lint_allowed(lp, &call) :
	    lint_kv_prefix_ok(lp, c, call.write);
	if (ok)
		return;
	lint_quote(c, q, sizeof q);
	snprintf(what, sizeof what, "kv %s %s", c->method, q);
	lint_never(lp, c, CAP_KV, call.write ? LINT_WRITE : LINT_READ, what);
}

static void
lint_secret(const struct lint_pol *lp, const struct lint_call *c)
{
	struct cap_call call = { .cap = CAP_SECRET, .secret = c->value };
	char what[600], q[520];

	if (c->value == NULL || !c->complete || lint_allowed(lp, &call))
		return;
	lint_quote(c, q, sizeof q);
	snprintf(what, sizeof what, "secret %s", q);
	lint_never(lp, c, CAP_SECRET, LINT_ANY, what);
}

static void
lint_log(const struct lint_pol *lp, const struct lint_call *c)
{
	struct cap_call call = { .cap = CAP_LOG };
	char what[64];

	if (lint_allowed(lp, &call))
		return;
	snprintf(what, sizeof what, "log %s", c->method);
	lint_never(lp, c, CAP_LOG, LINT_ANY, what);
}

static const struct {
	const char	*cap;
	void		(*judge)(const struct lint_pol *,
			    const struct lint_call *);
} lint_judges[] = {
	{ "http",	lint_http },
	{ "kv",		lint_kv },
	{ "secret",	lint_secret },
	{ "log",	lint_log },
};

void
lint_policy(const struct policy *p, const char *path, const char *rule,
    struct lint_report *rep)
{
	const struct pool_conf *pool = policy_pool_for(p, rule);
	struct lint_pol lp = { p, path, rule, pool != NULL ? pool->name : NULL,
	    rep };

	for (size_t i = 0; i < rep->ncalls; i++)
		for (size_t k = 0; k < sizeof lint_judges / sizeof lint_judges[0];
		    k++)
			if (strcmp(rep->calls[i].cap, lint_judges[k].cap) == 0)
				lint_judges[k].judge(&lp, &rep->calls[i]);
}
