/*
 * policy.h: the policy file (policy.c), default deny: the pools that run
 * rules, with their workers, queues, limits and quotas, and the rule blocks
 * that allow capability calls to rules whose names match. See
 * moonbox.policy(5).
 */
#ifndef MB_POLICY_H
#define MB_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "limit.h"
#include "proto.h"
#include "url.h"

#define POLICY_MAX_POOLS	256
#define POLICY_MAX_WORKERS	1024
#define POLICY_MAX_RULE_BLOCKS	4096
#define POLICY_NAME_MAX		512	/* bytes of a key prefix or secret */
#define POLICY_CALLS		CAP_KIND_COUNT	/* quota of every capability */
#define POLICY_QUOTA_CAPS	(CAP_KIND_COUNT + 1)

/* `quota CAP N per invocation|TIME`; also a log allow's rate. */
struct pol_quota {
	int			 line;
	char			*text;		/* the statement, rewritten */
	int			 cap;		/* enum cap_kind, POLICY_CALLS */
	uint64_t		 limit;		/* calls */
	uint64_t		 window_us;	/* 0: per invocation */
};

/* `allow CAP constraints...` */
struct pol_allow {
	int			 line;
	char			*text;
	enum cap_kind		 cap;
	unsigned		 methods;	/* http: bits of policy_methods */
	struct url_pattern	*urls;
	int			 nurls;
	int			 private_ok;	/* http: said "private" */
	int			 read, write;	/* kv */
	char			**names;	/* kv prefixes, secret names */
	int			 nnames;
	struct pol_quota	 rate;		/* log: limit 0 when none */
};

/* `rule PATTERN... { allow ...; quota ... }` */
struct pol_rule {
	int			 line;
	char			**patterns;
	int			 npatterns;
	struct pol_allow	*allows;
	int			 nallows;
	struct pol_quota	*quotas;	/* each matching rule counts its
						 * own */
	int			 nquotas;
};

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
	struct pol_quota	*quotas;	/* the pool's rules count together */
	int			 nquotas;
};

struct policy {
	char			*path;
	struct pool_conf	*pools;
	int			 npools;
	struct pol_rule		*rules;
	int			 nrules;
};

/* HTTP methods an allow statement can name, in bit order, NULL-ended. */
extern const char *const policy_methods[];

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

/* Judge one capability call: allowed iff an allow statement of a rule
 * block matching the rule matches it; the deciding line is the first such
 * statement in file order. Quotas are quota.c's. */
void	policy_decide(const struct policy *, const struct cap_call *,
	    struct cap_decision *);
/* The same, and the deciding statement (NULL when denied). */
const struct pol_allow *policy_decide_by(const struct policy *,
	    const struct cap_call *, struct cap_decision *);
const struct pool_conf *policy_pool_named(const struct policy *,
	    const char *);
/* Whether a rule block's patterns match the rule name. */
int	policy_rule_applies(const struct pol_rule *, const char *);
/* The allow log statement that decides the rule's log calls, if any. */
const struct pol_allow *policy_log_allow(const struct policy *,
	    const char *);

#endif
