/*
 * quota.h: the quota book the broker keeps (quota.c): how many capability
 * calls each rule and each pool made in the current window, against the
 * policy's quota statements. See moonbox.policy(5), "Quotas".
 *
 * A window quota counts in fixed windows aligned to multiples of its length
 * since the Unix epoch (per 1h: from each full hour, UTC). A rule block's
 * quota counts per rule name matching it; a pool's counts its rules
 * together. A per-invocation quota counts the calls of one invocation, in
 * the struct quota_inv the broker resets as each invocation starts.
 */
#ifndef MB_QUOTA_H
#define MB_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "policy.h"

#define QUOTA_BOOK_DEFAULT_MAX	(1u << 16)	/* live window counters */

enum quota_scope { QUOTA_RULE, QUOTA_POOL };

/* The calls of the running invocation, by capability; [POLICY_CALLS]: all. */
struct quota_inv {
	uint64_t	calls[POLICY_QUOTA_CAPS];
};

struct quota_book;

/* A book of QUOTA_BOOK_DEFAULT_MAX window counters, or of max. */
struct quota_book *quota_book_new(void);
struct quota_book *quota_book_new_max(size_t);
void	quota_book_free(struct quota_book *);
/* Window counters held; counters whose window has passed are evicted. */
size_t	quota_book_count(const struct quota_book *);
void	quota_sweep(struct quota_book *, uint64_t);
void	quota_inv_reset(struct quota_inv *);

/*
 * Charge one call the policy allowed (its rule, pool and capability), at
 * now_us: microseconds of CLOCK_REALTIME, so that windows start on the
 * hour. Every quota that applies must have room, or nothing is charged:
 * 0 if charged (the decision is left as it was); -1 if refused, and the
 * decision says denied, the quota's line and why. A pool NULL, or one this
 * policy does not name (it was reloaded away): the pool that runs the rule
 * now. A full book refuses too: the quotas could no longer be counted.
 */
int	quota_charge(struct quota_book *, const struct policy *,
	    const struct cap_call *, uint64_t, struct quota_inv *,
	    struct cap_decision *);

/* Each quota that applies to a call of the capability by the rule, in the
 * order they are checked: rule blocks' in file order, the rule's log rate,
 * then the pool's. subject: the rule or the pool that counts. */
typedef void	(*quota_visit)(void *, const struct pol_quota *,
		    enum quota_scope, const char *);
void	quota_each(const struct policy *, const char *, const char *,
	    enum cap_kind, quota_visit, void *);

#endif
