/*
 * quota.c: the quota book (quota.h). Window counters live in a hash table
 * keyed by (scope, subject, capability, window length): two quotas on the
 * same calls of the same rule share one counter, whatever their limits,
 * and a counter outlives a reload of the policy. A counter is useful only
 * until its window ends, so counters whose window has passed are evicted
 * (when the table has doubled since the last sweep, when it is full, or
 * when the broker calls quota_sweep); a full table of live counters
 * refuses further calls rather than forget a count. A charge goes in three
 * passes over the quotas that apply: make the counters, check them all,
 * then count the call once in each. Uses policy.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quota.h"

#define QUOTA_BUCKETS_MIN	64
#define QUOTA_SWEEP_MIN		1024

struct quota_entry {
	struct quota_entry	*next;
	uint64_t		 hash;
	uint64_t		 window_us;
	uint64_t		 start_us;	/* of the window counted */
	uint64_t		 count;
	uint64_t		 seq;		/* the last charge that counted */
	int			 scope, cap;
	char			 subject[];
};

struct quota_book {
	struct quota_entry	**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 n, max;
	size_t			 sweep_at;	/* sweep when n reaches it */
	uint64_t		 seq;		/* of the charge under way */
};

enum quota_phase { QUOTA_PREPARE, QUOTA_CHECK, QUOTA_CHARGE };

struct quota_walk {
	struct quota_book	*b;
	uint64_t		 now;
	struct quota_inv	*inv;
	enum quota_phase	 phase;
	int			 full;
	const struct pol_quota	*over;		/* the first quota with no room */
	enum quota_scope	 over_scope;
	const char		*over_subject;
	uint64_t		 used;
};

struct quota_book *
quota_book_new(void)
{
	return quota_book_new_max(QUOTA_BOOK_DEFAULT_MAX);
}

struct quota_book *
quota_book_new_max(size_t max)
{
	struct quota_book *b = calloc(1, sizeof *b);

	if (b == NULL)
		return NULL;
	b->nbuckets = QUOTA_BUCKETS_MIN;
	if ((b->buckets = calloc(b->nbuckets, sizeof *b->buckets)) == NULL) {
		free(b);
		return NULL;
	}
	b->max = max != 0 ? max : QUOTA_BOOK_DEFAULT_MAX;
	b->sweep_at = QUOTA_SWEEP_MIN;
	return b;
}

void
quota_book_free(struct quota_book *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nbuckets; i++) {
		struct quota_entry *e, *next;

		for (e = b->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(b->buckets);
	free(b);
}

size_t
quota_book_count(const struct quota_book *b)
{
	return b->n;
}

void
quota_inv_reset(struct quota_inv *inv)
{
	memset(inv, 0, sizeof *inv);
}

void
quota_sweep(struct quota_book *b, uint64_t now)
{
	for (size_t i = 0; i < b->nbuckets; i++) {
		struct quota_entry **pp = &b->buckets[i];

		while (*pp != NULL) {
			struct quota_entry *e = *pp;

			if (now >= e->start_us + e->window_us) {
				*pp = e->next;
				free(e);
				b->n--;
			} else
				pp = &e->next;
		}
	}
}

/* FNV-1a over the key. */
static uint64_t
quota_hash(int scope, int cap, uint64_t window, const char *subject)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char head[2 + sizeof window];

	head[0] = (unsigned char)scope;
	head[1] = (unsigned char)cap;
	memcpy(head + 2, &window, sizeof window);
	for (size_t i = 0; i < sizeof head; i++)
		h = (h ^ head[i]) * 0x100000001b3ull;
	for (const char *s = subject; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static void
quota_grow(struct quota_book *b)
{
	size_t n = b->nbuckets * 2;
	struct quota_entry **nb = calloc(n, sizeof *nb);

	if (nb == NULL)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < b->nbuckets; i++) {
		struct quota_entry *e, *next;

		for (e = b->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(b->buckets);
	b->buckets = nb;
	b->nbuckets = n;
}

static struct quota_entry *
quota_insert(struct quota_book *b, uint64_t hash, int scope, int cap,
    uint64_t window, const char *subject, uint64_t now)
{
	size_t len = strlen(subject) + 1;
	struct quota_entry *e;

	if (b->n >= b->sweep_at || b->n >= b->max) {
		quota_sweep(b, now);
		b->sweep_at = b->n * 2 > QUOTA_SWEEP_MIN ? b->n * 2 :
		    QUOTA_SWEEP_MIN;
	}
	if (b->n >= b->max || (e = calloc(1, sizeof *e + len)) == NULL)
		return NULL;
	if (b->n >= b->nbuckets)
		quota_grow(b);
	e->hash = hash;
	e->scope = scope;
	e->cap = cap;
	e->window_us = window;
	e->start_us = now - now % window;
	memcpy(e->subject, subject, len);
	e->next = b->buckets[hash & (b->nbuckets - 1)];
	b->buckets[hash & (b->nbuckets - 1)] = e;
	b->n++;
	return e;
}

/* The counter of a key, moved on to the window of now; made if asked. */
static struct quota_entry *
quota_find(struct quota_book *b, int scope, int cap, uint64_t window,
    const char *subject, uint64_t now, int make)
{
	uint64_t h = quota_hash(scope, cap, window, subject);
	uint64_t start = now - now % window;
	struct quota_entry *e;

	for (e = b->buckets[h & (b->nbuckets - 1)]; e != NULL; e = e->next) {
		if (e->hash != h || e->scope != scope || e->cap != cap ||
		    e->window_us != window || strcmp(e->subject, subject) != 0)
			continue;
		if (start > e->start_us) {	/* a clock set back keeps it */
			e->start_us = start;
			e->count = 0;
		}
		return e;
	}
	return make ? quota_insert(b, h, scope, cap, window, subject, now) :
	    NULL;
}

void
quota_each(const struct policy *p, const char *rule, const char *pool,
    enum cap_kind cap, quota_visit visit, void *ud)
{
	const struct pol_allow *log;
	const struct pool_conf *pc;

	for (int i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		if (!policy_rule_applies(r, rule))
			continue;
		for (int k = 0; k < r->nquotas; k++)
			if (r->quotas[k].cap == (int)cap ||
			    r->quotas[k].cap == POLICY_CALLS)
				visit(ud, &r->quotas[k], QUOTA_RULE, rule);
	}
	if (cap == CAP_LOG && (log = policy_log_allow(p, rule)) != NULL &&
	    log->rate.limit > 0)
		visit(ud, &log->rate, QUOTA_RULE, rule);
	if (pool == NULL || (pc = policy_pool_named(p, pool)) == NULL)
		pc = policy_pool_for(p, rule);
	for (int k = 0; pc != NULL && k < pc->nquotas; k++)
		if (pc->quotas[k].cap == (int)cap ||
		    pc->quotas[k].cap == POLICY_CALLS)
			visit(ud, &pc->quotas[k], QUOTA_POOL, pc->name);
}

static void
quota_step(void *ud, const struct pol_quota *q, enum quota_scope scope,
    const char *subject)
{
	struct quota_walk *w = ud;
	struct quota_entry *e = NULL;
	uint64_t used;

	if (q->window_us != 0 && (e = quota_find(w->b, (int)scope, q->cap,
	    q->window_us, subject, w->now, w->phase == QUOTA_PREPARE)) == NULL) {
		w->full = 1;
		return;
	}
	if (w->phase == QUOTA_CHECK) {
		used = e != NULL ? e->count : w->inv->calls[q->cap];
		if (used >= q->limit && w->over == NULL) {
			w->over = q;
			w->over_scope = scope;
			w->over_subject = subject;
			w->used = used;
		}
	} else if (w->phase == QUOTA_CHARGE && e != NULL &&
	    e->seq != w->b->seq) {
		e->seq = w->b->seq;
		e->count++;
	}
}

/* "1m" for 60 s: the largest unit that divides the length. */
static void
quota_window_text(uint64_t us, char *buf, size_t len)
{
	static const struct { const char *unit; uint64_t us; } units[] = {
		{ "d", 86400000000ull }, { "h", 3600000000ull },
		{ "m", 60000000ull }, { "s", 1000000ull },
	};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (us % units[i].us == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", us / units[i].us,
			    units[i].unit);
			return;
		}
	snprintf(buf, len, "%" PRIu64 "us", us);
}

static void
quota_refuse(const struct quota_walk *w, const struct quota_book *b,
    struct cap_decision *d)
{
	const struct pol_quota *q = w->over;
	char win[32];

	d->allowed = 0;
	d->allow_private = 0;
	if (q == NULL) {
		d->line = 0;
		snprintf(d->why, sizeof d->why, "denied: the quota book is "
		    "full (%zu live counters), so quotas cannot be counted",
		    b->n);
		return;
	}
	d->line = q->line;
	quota_window_text(q->window_us, win, sizeof win);
	snprintf(d->why, sizeof d->why, "over quota: line %d (%s): %" PRIu64
	    " of %" PRIu64 " calls used %s%s%s%s%s", q->line, q->text, w->used,
	    q->limit, q->window_us == 0 ? "in this invocation" :
	    w->over_scope == QUOTA_POOL ? "by the rules of pool " : "by rule ",
	    q->window_us == 0 ? "" : w->over_subject,
	    q->window_us == 0 ? "" : " in this ", q->window_us == 0 ? "" : win,
	    q->window_us == 0 ? "" : " window");
}

int
quota_charge(struct quota_book *b, const struct policy *p,
    const struct cap_call *c, uint64_t now, struct quota_inv *inv,
    struct cap_decision *d)
{
	struct quota_walk w = { .b = b, .now = now, .inv = inv };
	const char *rule = c->rule, *pool = c->pool;
	enum cap_kind cap = c->cap;

	if (rule == NULL || (unsigned)cap >= CAP_KIND_COUNT) {
		d->allowed = 0;
		d->line = 0;
		d->allow_private = 0;
		snprintf(d->why, sizeof d->why, "denied: a quota charge needs a "
		    "rule and a capability");
		return -1;
	}
	w.phase = QUOTA_PREPARE;
	quota_each(p, rule, pool, cap, quota_step, &w);
	w.phase = QUOTA_CHECK;
	quota_each(p, rule, pool, cap, quota_step, &w);
	if (w.full || w.over != NULL) {
		if (w.full)
			w.over = NULL;
		quota_refuse(&w, b, d);
		return -1;
	}
	b->seq++;
	w.phase = QUOTA_CHARGE;
	quota_each(p, rule, pool, cap, quota_step, &w);
	inv->calls[cap]++;
	inv->calls[POLICY_CALLS]++;
	return 0;
}
