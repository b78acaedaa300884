/*
 * policy.h: the policy file (policy.c), default deny: the pools that run
 * rules, with their workers, queues and limits. See moonbox.policy(5).
 */
#ifndef MB_POLICY_H
#define MB_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "limit.h"
#include "proto.h"

#define POLICY_MAX_POOLS	256
#define POLICY_MAX_WORKERS	1024

struct pool_conf {
	char			 name[PROTO_NAME_MAX + 1];
	int			 line;
	char			**patterns;	/* rule names it runs */
	int			 npatterns;
	unsigned		 min_workers, max_workers;
	unsigned		 queue;		/* waiting invocations */
	struct lim_config	 limits;	/* per invocation */
	uint64_t		 recycle;	/* invocations per worker; 0: no */
	uint64_t		 grace_us;	/* past a deadline, before a kill */
	uint64_t		 idle_us;	/* extra workers retire after */
	unsigned		 worker_cpu_s;	/* RLIMIT_CPU of a worker */
	size_t			 address_space;	/* RLIMIT_AS; 0: memory + slack */
};

struct policy {
	char			*path;
	struct pool_conf	*pools;
	int			 npools;
};

int	policy_load(const char *, struct policy *, char *, size_t);
int	policy_parse(const char *, const char *, size_t, struct policy *,
	    char *, size_t);
void	policy_free(struct policy *);
/* The first pool, in file order, with a pattern that matches the rule. */
const struct pool_conf *policy_pool_for(const struct policy *, const char *);
/* Rule-name patterns: '*' matches within a path segment, '**' across. */
int	policy_match(const char *, const char *);
/* Whether a name is a valid rule name: [A-Za-z0-9_.-] segments joined by
 * '/', none empty, none starting with '.'. */
int	policy_rule_name_ok(const char *, size_t);

#endif
