/*
 * metrics.c: the daemon's figures in the Prometheus text exposition
 * format (version 0.0.4), for GET /metrics: every family with its HELP and
 * TYPE, labels escaped, histograms with cumulative buckets, _sum and
 * _count. Uses stats.c, pool.c and the broker's counts (bridge.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "httpapi.h"
#include "master.h"
#include "rpc.h"

static void
family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A label value: backslash, quote and newline escaped. */
static void
label(struct evbuffer *b, const char *name, const char *v, int first)
{
	evbuffer_add_printf(b, "%s%s=\"", first ? "" : ",", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void
sample1(struct evbuffer *b, const char *name, const char *k, const char *v,
    unsigned long long n)
{
	evbuffer_add_printf(b, "%s{", name);
	label(b, k, v, 1);
	evbuffer_add_printf(b, "} %llu\n", n);
}

static void
sample2(struct evbuffer *b, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, unsigned long long n)
{
	evbuffer_add_printf(b, "%s{", name);
	label(b, k1, v1, 1);
	label(b, k2, v2, 0);
	evbuffer_add_printf(b, "} %llu\n", n);
}

static void
histogram(struct evbuffer *b, const char *name, const char *k, const char *v,
    const struct hist *h)
{
	char le[32];

	for (int i = 0; i < HIST_PROM; i++) {
		snprintf(le, sizeof le, "%g", hist_prom_le[i]);
		evbuffer_add_printf(b, "%s_bucket{", name);
		label(b, k, v, 1);
		label(b, "le", le, 0);
		evbuffer_add_printf(b, "} %llu\n",
		    (unsigned long long)h->prom[i]);
	}
	evbuffer_add_printf(b, "%s_bucket{", name);
	label(b, k, v, 1);
	evbuffer_add_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)h->n);
	evbuffer_add_printf(b, "%s_sum{", name);
	label(b, k, v, 1);
	evbuffer_add_printf(b, "} %.6f\n", (double)h->sum_us / 1e6);
	evbuffer_add_printf(b, "%s_count{", name);
	label(b, k, v, 1);
	evbuffer_add_printf(b, "} %llu\n", (unsigned long long)h->n);
}

static void
daemon_figures(struct evbuffer *b)
{
	family(b, "moonbox_up", "gauge", "1 while moonboxd serves, 0 while it "
	    "drains.");
	evbuffer_add_printf(b, "moonbox_up %d\n", M.draining ? 0 : 1);
	family(b, "moonbox_generation", "gauge", "The generation of the "
	    "configuration in use.");
	evbuffer_add_printf(b, "moonbox_generation %u\n", M.cur->id);
	family(b, "moonbox_reloads_total", "counter", "Reloads, by result.");
	sample1(b, "moonbox_reloads_total", "result", "ok", M.stats.reloads);
	sample1(b, "moonbox_reloads_total", "result", "failed",
	    M.stats.reload_failures);
	family(b, "moonbox_connections", "gauge", "Open client connections, "
	    "by protocol.");
	sample1(b, "moonbox_connections", "protocol", "msgpack-rpc",
	    rpc_clients());
	sample1(b, "moonbox_connections", "protocol", "http",
	    httpapi_connections());
	family(b, "moonbox_requests_total", "counter", "msgpack-RPC requests "
	    "read.");
	evbuffer_add_printf(b, "moonbox_requests_total %llu\n",
	    (unsigned long long)M.stats.requests);
	family(b, "moonbox_protocol_errors_total", "counter", "Connections "
	    "closed for breaking the protocol.");
	evbuffer_add_printf(b, "moonbox_protocol_errors_total %llu\n",
	    (unsigned long long)M.stats.protocol_errors);
}

static void
rule_counts(const struct rule_stats *rs, void *ud)
{
	struct evbuffer *b = ud;

	for (int k = 0; k < MB_KIND_COUNT; k++)
		if (rs->out.by_kind[k] > 0)
			sample2(b, "moonbox_invocations_total", "rule", rs->name,
			    "outcome", kind_name((enum mb_kind)k),
			    rs->out.by_kind[k]);
}

static void
rule_kills(const struct rule_stats *rs, void *ud)
{
	sample1(ud, "moonbox_rule_worker_kills_total", "rule", rs->name,
	    rs->kills);
}

static void
rule_latency(const struct rule_stats *rs, void *ud)
{
	histogram(ud, "moonbox_rule_duration_seconds", "rule", rs->name,
	    &rs->latency);
}

static void
pool_latency(const struct pool_stats *ps, void *ud)
{
	histogram(ud, "moonbox_pool_duration_seconds", "pool", ps->name,
	    &ps->latency);
}

static void
pool_counters(const struct pool_stats *ps, void *ud)
{
	struct evbuffer *b = ud;

	sample1(b, "moonbox_worker_restarts_total", "pool", ps->name,
	    ps->restarts);
}

static void
rule_figures(struct evbuffer *b)
{
	family(b, "moonbox_invocations_total", "counter", "Invocations "
	    "answered, by rule and outcome.");
	stats_each_rule(rule_counts, b);
	family(b, "moonbox_rule_worker_kills_total", "counter", "Workers a "
	    "rule took down or that were killed at its deadline.");
	stats_each_rule(rule_kills, b);
	family(b, "moonbox_rule_duration_seconds", "histogram", "Time from "
	    "arrival to answer, by rule.");
	stats_each_rule(rule_latency, b);
	family(b, "moonbox_pool_duration_seconds", "histogram", "Time from "
	    "arrival to answer, by pool.");
	stats_each_pool(pool_latency, b);
	family(b, "moonbox_worker_restarts_total", "counter", "Workers started "
	    "to replace one that died or was killed.");
	stats_each_pool(pool_counters, b);
}

/* The pools of the current generation: workers by state, queues. */
static void
pool_figures(struct evbuffer *b)
{
	family(b, "moonbox_workers", "gauge", "Workers, by pool and state.");
	for (int i = 0; i < M.cur->npools; i++)
		for (int s = WS_SPAWNING; s <= WS_DYING; s++)
			sample2(b, "moonbox_workers", "pool",
			    M.cur->pools[i].conf->name, "state",
			    pool_worker_state_name((enum worker_state)s),
			    pool_count(&M.cur->pools[i], (enum worker_state)s));
	family(b, "moonbox_queue_depth", "gauge", "Invocations waiting for a "
	    "worker, by pool.");
	for (int i = 0; i < M.cur->npools; i++)
		sample1(b, "moonbox_queue_depth", "pool",
		    M.cur->pools[i].conf->name, M.cur->pools[i].nqueue);
	family(b, "moonbox_worker_kills_total", "counter", "Workers killed at "
	    "a deadline, by pool.");
	for (int i = 0; i < M.cur->npools; i++)
		sample1(b, "moonbox_worker_kills_total", "pool",
		    M.cur->pools[i].conf->name, M.cur->pools[i].stats->kills);
	family(b, "moonbox_worker_crashes_total", "counter", "Workers that "
	    "died unasked, by pool.");
	for (int i = 0; i < M.cur->npools; i++)
		sample1(b, "moonbox_worker_crashes_total", "pool",
		    M.cur->pools[i].conf->name, M.cur->pools[i].stats->crashes);
}

/* The broker's decisions, as of its last report (once a second). */
static void
broker_figures(struct evbuffer *b)
{
	family(b, "moonbox_capability_calls_total", "counter", "Capability "
	    "calls, by capability and decision.");
	for (int i = 0; i < M.ncaps; i++) {
		sample2(b, "moonbox_capability_calls_total", "capability",
		    M.caps[i].cap, "decision", "allowed", M.caps[i].allowed);
		sample2(b, "moonbox_capability_calls_total", "capability",
		    M.caps[i].cap, "decision", "denied", M.caps[i].denied);
		sample2(b, "moonbox_capability_calls_total", "capability",
		    M.caps[i].cap, "decision", "refused", M.caps[i].refused);
	}
}

void
metrics_write(struct evbuffer *b)
{
	daemon_figures(b);
	rule_figures(b);
	pool_figures(b);
	broker_figures(b);
}
