/*
 * stats.h: the daemon's counters (stats.c): per rule and per pool, kept
 * across reloads by name; latency in log-linear histograms (eight buckets
 * per power of two, so a percentile is within 12.5%).
 */
#ifndef MB_STATS_H
#define MB_STATS_H

#include <stdint.h>

#include "kind.h"

#define HIST_BUCKETS	320
#define HIST_PROM	14	/* Prometheus buckets, below +Inf */

struct hist {
	uint64_t	 n;
	uint64_t	 b[HIST_BUCKETS];
	uint64_t	 prom[HIST_PROM];	/* at most hist_prom_le[i] */
	uint64_t	 sum_us;
};

extern const double hist_prom_le[HIST_PROM];	/* seconds */

struct outcomes {
	uint64_t	 total;
	uint64_t	 by_kind[MB_KIND_COUNT];
};

struct rule_stats {
	char		*name;
	struct outcomes	 out;
	struct hist	 latency;	/* microseconds, arrival to reply */
	uint64_t	 kills;		/* workers it took down */
};

struct pool_stats {
	char		*name;
	struct outcomes	 out;
	struct hist	 latency;
	uint64_t	 spawned, retired, recycled;
	uint64_t	 crashes;	/* workers that died unasked */
	uint64_t	 kills;		/* workers killed at a deadline */
	uint64_t	 restarts;	/* workers started to replace the dead */
	uint64_t	 spawn_failures;
	uint64_t	 queue_peak;
};

struct master_stats {
	uint64_t	 connections;
	uint64_t	 requests;
	uint64_t	 protocol_errors;	/* connections closed for them */
	uint64_t	 not_found;
	uint64_t	 reloads, reload_failures;
};

void		 hist_add(struct hist *, uint64_t);
uint64_t	 hist_quantile(const struct hist *, double);
struct rule_stats *stats_rule(const char *);
struct pool_stats *stats_pool(const char *);
void		 stats_outcome(struct rule_stats *, struct pool_stats *,
		    enum mb_kind, uint64_t);
/* Visit every rule's counters, in name order. */
void		 stats_each_rule(void (*)(const struct rule_stats *, void *),
		    void *);
void		 stats_each_pool(void (*)(const struct pool_stats *, void *),
		    void *);

#endif
