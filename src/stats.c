/*
 * stats.c: counters and latency histograms. Rules and pools are found by
 * name in binary trees (tsearch), so figures survive a reload.
 */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static void *rule_tree, *pool_tree;

static unsigned
hist_index(uint64_t v)
{
	int e;

	if (v < 8)
		return (unsigned)v;
	e = 63 - __builtin_clzll(v);
	return 8 + (unsigned)(e - 3) * 8 + (unsigned)((v >> (e - 3)) & 7);
}

/* The middle of bucket i. */
static uint64_t
hist_value(unsigned i)
{
	unsigned e, sub;
	uint64_t lo, width;

	if (i < 8)
		return i;
	e = (i - 8) / 8 + 3;
	sub = (i - 8) % 8;
	lo = (uint64_t)(8 + sub) << (e - 3);
	width = (uint64_t)1 << (e - 3);
	return lo + width / 2;
}

/* Prometheus's buckets are cumulative, at fixed bounds: counted exactly
 * here rather than guessed from the log-linear ones. */
const double hist_prom_le[HIST_PROM] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10
};

void
hist_add(struct hist *h, uint64_t v)
{
	unsigned i = hist_index(v);

	h->b[i < HIST_BUCKETS ? i : HIST_BUCKETS - 1]++;
	h->n++;
	h->sum_us += v;
	for (int k = 0; k < HIST_PROM; k++)
		if ((double)v <= hist_prom_le[k] * 1e6)
			h->prom[k]++;
}

uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want)
			return hist_value(i);
	}
	return hist_value(HIST_BUCKETS - 1);
}

static int
stats_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Find by name or add a zeroed one of size n whose first member is the
 * name. NULL when out of memory. */
static void *
stats_find(void **tree, const char *name, size_t n)
{
	char *key = (char *)name, **found, **node;

	if ((found = tfind(&key, tree, stats_cmp)) != NULL)
		return *found;
	if ((node = calloc(1, n)) == NULL || (*node = strdup(name)) == NULL) {
		free(node);
		return NULL;
	}
	if (tsearch(node, tree, stats_cmp) == NULL) {
		free(*node);
		free(node);
		return NULL;
	}
	return node;
}

struct rule_stats *
stats_rule(const char *name)
{
	return stats_find(&rule_tree, name, sizeof(struct rule_stats));
}

struct pool_stats *
stats_pool(const char *name)
{
	return stats_find(&pool_tree, name, sizeof(struct pool_stats));
}

static void
stats_count(struct outcomes *o, enum mb_kind k)
{
	o->total++;
	if ((unsigned)k < MB_KIND_COUNT)
		o->by_kind[k]++;
}

void
stats_outcome(struct rule_stats *r, struct pool_stats *p, enum mb_kind k,
    uint64_t us)
{
	if (r != NULL) {
		stats_count(&r->out, k);
		hist_add(&r->latency, us);
	}
	if (p != NULL) {
		stats_count(&p->out, k);
		hist_add(&p->latency, us);
	}
}

static void (*each_fn)(const void *, void *);
static void *each_ud;

static void
stats_visit(const void *node, VISIT v, int depth)
{
	(void)depth;
	if (v == postorder || v == leaf)
		each_fn(*(void *const *)node, each_ud);
}

void
stats_each_rule(void (*fn)(const struct rule_stats *, void *), void *ud)
{
	each_fn = (void (*)(const void *, void *))fn;
	each_ud = ud;
	twalk(rule_tree, stats_visit);
}

void
stats_each_pool(void (*fn)(const struct pool_stats *, void *), void *ud)
{
	each_fn = (void (*)(const void *, void *))fn;
	each_ud = ud;
	twalk(pool_tree, stats_visit);
}
