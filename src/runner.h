/*
 * runner.h: one invocation in a fresh contained worker (runner.c), the path
 * `moonbox run` takes.
 */
#ifndef MB_RUNNER_H
#define MB_RUNNER_H

#include "invoke.h"

#define RUNNER_GRACE_MS		100	/* past the deadline, before a kill */
#define RUNNER_AS_SLACK		(256u << 20)	/* RLIMIT_AS beyond Lua memory */

void	runner_run(const struct inv_request *, struct inv_outcome *);
size_t	runner_address_space(const struct lim_config *);

#endif
