/*
 * ctl.c: the methods that are not invoke: ping and rules on every socket;
 * reload, stats and workers on the control socket only. Uses rpc.c,
 * gen.c, pool.c, stats.c.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "master.h"
#include "rpc.h"

static int
ctl_no_params(struct rpc_call *call)
{
	if (call->nparams != 0 || mpr_end(call->params) < 0) {
		rpc_error(call->client, call->msgid, MB_BAD_REQUEST,
		    "this method takes no params");
		return -1;
	}
	return 0;
}

static void
kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	rpc_pack_str(pk, k);
	rpc_pack_str(pk, v);
}

static void
kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
	rpc_pack_str(pk, k);
	msgpack_pack_uint64(pk, v);
}

void
method_ping(struct rpc_call *call)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (ctl_no_params(call) < 0)
		return;
	rpc_result_begin(&sb, &pk, call->msgid);
	rpc_pack_str(&pk, "pong");
	rpc_result_end(call->client, &sb);
}

/* [{name, pool}, ...] in name order */
void
method_rules(struct rpc_call *call)
{
	const struct ruleset *rs = &M.cur->rules;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (ctl_no_params(call) < 0)
		return;
	rpc_result_begin(&sb, &pk, call->msgid);
	msgpack_pack_array(&pk, rs->n);
	for (size_t i = 0; i < rs->n; i++) {
		msgpack_pack_map(&pk, 2);
		kv_str(&pk, "name", rs->rules[i].name);
		rpc_pack_str(&pk, "pool");
		if (rs->rules[i].pool != NULL)
			rpc_pack_str(&pk, rs->rules[i].pool->name);
		else
			msgpack_pack_nil(&pk);
	}
	rpc_result_end(call->client, &sb);
}

void
method_reload(struct rpc_call *call)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char err[1024];

	if (ctl_no_params(call) < 0)
		return;
	if (master_reload(err, sizeof err) < 0) {
		rpc_error(call->client, call->msgid, MB_BAD_REQUEST, err);
		return;
	}
	rpc_result_begin(&sb, &pk, call->msgid);
	msgpack_pack_map(&pk, 3);
	kv_uint(&pk, "generation", M.cur->id);
	kv_uint(&pk, "pools", (uint64_t)M.cur->npools);
	kv_uint(&pk, "rules", M.cur->rules.n);
	rpc_result_end(call->client, &sb);
}

static void
pack_outcomes(msgpack_packer *pk, const struct outcomes *o)
{
	unsigned n = 0;

	for (int k = 0; k < MB_KIND_COUNT; k++)
		n += o->by_kind[k] > 0;
	rpc_pack_str(pk, "outcomes");
	msgpack_pack_map(pk, n);
	for (int k = 0; k < MB_KIND_COUNT; k++)
		if (o->by_kind[k] > 0)
			kv_uint(pk, kind_name((enum mb_kind)k), o->by_kind[k]);
}

static void
pack_latency(msgpack_packer *pk, const struct hist *h)
{
	static const struct { const char *name; double q; } qs[] = {
		{ "p50", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 },
		{ "p999", 0.999 },
	};

	rpc_pack_str(pk, "latency_ms");
	msgpack_pack_map(pk, 4);
	for (int i = 0; i < 4; i++) {
		rpc_pack_str(pk, qs[i].name);
		msgpack_pack_double(pk, (double)hist_quantile(h, qs[i].q) /
		    1000);
	}
}

/* The live part of a pool of the current generation: workers and queue. */
static void
pack_pool_live(msgpack_packer *pk, const char *name)
{
	const struct pool *p = NULL;

	for (int i = 0; i < M.cur->npools; i++)
		if (strcmp(M.cur->pools[i].conf->name, name) == 0)
			p = &M.cur->pools[i];
	rpc_pack_str(pk, "workers");
	msgpack_pack_map(pk, 6);
	for (int s = WS_SPAWNING; s <= WS_DYING; s++)
		kv_uint(pk, pool_worker_state_name((enum worker_state)s),
		    p != NULL ? pool_count(p, (enum worker_state)s) : 0);
	kv_uint(pk, "queue", p != NULL ? p->nqueue : 0);
	kv_uint(pk, "queue_limit", p != NULL ? p->conf->queue : 0);
}

static void
pack_pool(const struct pool_stats *ps, void *ud)
{
	msgpack_packer *pk = ud;

	msgpack_pack_map(pk, 15);
	kv_str(pk, "name", ps->name);
	pack_pool_live(pk, ps->name);
	kv_uint(pk, "queue_peak", ps->queue_peak);
	kv_uint(pk, "invocations", ps->out.total);
	pack_outcomes(pk, &ps->out);
	pack_latency(pk, &ps->latency);
	kv_uint(pk, "spawned", ps->spawned);
	kv_uint(pk, "retired", ps->retired);
	kv_uint(pk, "recycled", ps->recycled);
	kv_uint(pk, "crashes", ps->crashes);
	kv_uint(pk, "kills", ps->kills);
	kv_uint(pk, "restarts", ps->restarts);
	kv_uint(pk, "spawn_failures", ps->spawn_failures);
}

static void
count_one(const void *s, void *ud)
{
	(void)s;
	(*(unsigned *)ud)++;
}

static void
pack_rule(const struct rule_stats *rs, void *ud)
{
	msgpack_packer *pk = ud;

	msgpack_pack_map(pk, 5);
	kv_str(pk, "name", rs->name);
	kv_uint(pk, "invocations", rs->out.total);
	pack_outcomes(pk, &rs->out);
	pack_latency(pk, &rs->latency);
	kv_uint(pk, "kills", rs->kills);
}

void
method_stats(struct rpc_call *call)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct timespec t;
	unsigned npools = 0, nrules = 0;

	if (ctl_no_params(call) < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	stats_each_pool((void (*)(const struct pool_stats *, void *))count_one,
	    &npools);
	stats_each_rule((void (*)(const struct rule_stats *, void *))count_one,
	    &nrules);
	rpc_result_begin(&sb, &pk, call->msgid);
	msgpack_pack_map(&pk, 14);
	kv_str(&pk, "version", PACKAGE_VERSION);
	kv_uint(&pk, "pid", (uint64_t)getpid());
	kv_uint(&pk, "spawner_pid", (uint64_t)M.spawner_pid);
	kv_uint(&pk, "broker_pid", (uint64_t)M.broker_pid);
	kv_uint(&pk, "uptime_s", (uint64_t)(t.tv_sec - M.started.tv_sec));
	kv_uint(&pk, "generation", M.cur->id);
	kv_uint(&pk, "connections", rpc_clients());
	kv_uint(&pk, "requests", M.stats.requests);
	kv_uint(&pk, "protocol_errors", M.stats.protocol_errors);
	kv_uint(&pk, "not_found", M.stats.not_found);
	kv_uint(&pk, "reloads", M.stats.reloads);
	kv_uint(&pk, "reload_failures", M.stats.reload_failures);
	rpc_pack_str(&pk, "pools");
	msgpack_pack_array(&pk, npools);
	stats_each_pool(pack_pool, &pk);
	rpc_pack_str(&pk, "rules");
	msgpack_pack_array(&pk, nrules);
	stats_each_rule(pack_rule, &pk);
	rpc_result_end(call->client, &sb);
}

/* [{id, pid, pool, generation, state, invocations, rule}, ...] */
void
method_workers(struct rpc_call *call)
{
	const struct worker *w;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned n = 0;

	if (ctl_no_params(call) < 0)
		return;
	TAILQ_FOREACH(w, &M.all, in_all)
		n++;
	rpc_result_begin(&sb, &pk, call->msgid);
	msgpack_pack_array(&pk, n);
	TAILQ_FOREACH(w, &M.all, in_all) {
		msgpack_pack_map(&pk, 7);
		kv_uint(&pk, "id", w->id);
		kv_uint(&pk, "pid", (uint64_t)w->pid);
		kv_str(&pk, "pool", w->pool->conf->name);
		kv_uint(&pk, "generation", w->pool->gen->id);
		kv_str(&pk, "state", pool_worker_state_name(w->state));
		kv_uint(&pk, "invocations", w->invocations);
		rpc_pack_str(&pk, "rule");
		if (w->job != NULL)
			rpc_pack_str(&pk, w->job->rule);
		else
			msgpack_pack_nil(&pk);
	}
	rpc_result_end(call->client, &sb);
}
