/*
 * gen.c: generations of configuration. gen_load reads moonboxd.conf, the
 * policy and the rules directory into a new generation, all or nothing;
 * gen_install makes it current: invocations still queued move to it, idle
 * workers of the old one retire, busy ones finish first. An old generation
 * is freed when its last worker and job are gone. Uses settings.c,
 * policy.c, rules.c, pool.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "master.h"

void
gen_free(struct gen *g)
{
	for (int i = 0; i < g->npools; i++)
		pool_free(&g->pools[i]);
	free(g->pools);
	ruleset_free(&g->rules);
	policy_free(&g->policy);
	free(g);
}

struct gen *
gen_load(const char *conf, char *err, size_t len)
{
	struct gen *g = calloc(1, sizeof *g);

	if (g == NULL) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (settings_load(conf, &g->set, err, len) < 0 ||
	    policy_load(g->set.policy, &g->policy, err, len) < 0) {
		policy_free(&g->policy);
		free(g);
		return NULL;
	}
	if (ruleset_load(g->set.rules, &g->policy, &g->rules, err, len) < 0 ||
	    (g->pools = calloc((size_t)g->policy.npools,
	    sizeof *g->pools)) == NULL) {
		if (g->pools == NULL && err[0] == '\0')
			snprintf(err, len, "out of memory");
		ruleset_free(&g->rules);
		policy_free(&g->policy);
		free(g);
		return NULL;
	}
	g->npools = g->policy.npools;
	g->id = ++M.next_gen;
	for (int i = 0; i < g->npools; i++)
		pool_init(&g->pools[i], g, &g->policy.pools[i]);
	for (size_t i = 0; i < g->rules.n; i++)
		if (g->rules.rules[i].pool == NULL)
			log_warn("rule %s: no pool of %s runs it; its "
			    "invocations will be denied", g->rules.rules[i].name,
			    g->policy.path);
	return g;
}

static struct pool *
gen_pool_of(struct gen *g, const struct pool_conf *c)
{
	return c == NULL ? NULL : &g->pools[c - g->policy.pools];
}

/* A queued invocation of the old generation goes to the new one. */
static void
gen_move_job(struct job *j, struct gen *to)
{
	const struct rule *r = ruleset_find(&to->rules, j->rule);
	struct gen *from = j->gen;

	pool_unqueue(j);
	j->gen = to;
	to->refs++;
	gen_release(from);
	if (r == NULL)
		job_fail(j, MB_NOT_FOUND, "rule %s was removed by a reload",
		    j->rule);
	else if (r->pool == NULL)
		job_fail(j, MB_DENIED, "after a reload, no pool of the policy "
		    "runs rule %s", j->rule);
	else
		pool_submit(gen_pool_of(to, r->pool), j);
}

void
gen_install(struct gen *g)
{
	struct gen *old = M.cur;

	M.cur = g;
	log_set_level(M.debug ? LOG_LV_DEBUG : g->set.log_level);
	log_configure(g->set.log_facility, g->set.log_json);
	for (int i = 0; i < g->npools; i++)
		pool_maintain(&g->pools[i]);
	if (old == NULL)
		return;
	old->retired = 1;
	old->refs++;		/* held while its jobs move */
	TAILQ_INSERT_TAIL(&M.old, old, entry);
	for (int i = 0; i < old->npools; i++) {
		struct pool *p = &old->pools[i];

		while (!TAILQ_EMPTY(&p->queue))
			gen_move_job(TAILQ_FIRST(&p->queue), g);
		pool_retire_idle(p);
	}
	gen_release(old);
}

void
gen_release(struct gen *g)
{
	if (--g->refs > 0 || !g->retired)
		return;
	TAILQ_REMOVE(&M.old, g, entry);
	log_debug("generation %u is finished", g->id);
	gen_free(g);
}

int
master_reload(char *err, size_t len)
{
	struct gen *g;

	err[0] = '\0';
	if ((g = gen_load(M.cur->set.path, err, len)) == NULL) {
		M.stats.reload_failures++;
		log_err("reload failed, keeping generation %u: %s", M.cur->id,
		    err);
		return -1;
	}
	if (strcmp(g->set.listen, M.cur->set.listen) != 0 ||
	    strcmp(g->set.control, M.cur->set.control) != 0 ||
	    g->set.listen_mode != M.cur->set.listen_mode ||
	    strcmp(g->set.listen_group, M.cur->set.listen_group) != 0 ||
	    strcmp(g->set.user, M.cur->set.user) != 0 ||
	    strcmp(g->set.chroot, M.cur->set.chroot) != 0)
		log_warn("reload: listen, control, user and chroot take effect "
		    "only at a restart; the running values stay");
	M.stats.reloads++;
	gen_install(g);
	bridge_reload();
	log_info("reloaded %s: generation %u, %d pools, %zu rules",
	    g->set.path, g->id, g->npools, g->rules.n);
	return 0;
}
