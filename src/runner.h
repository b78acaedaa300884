/*
 * runner.h: one invocation in a fresh contained worker (runner.c), the path
 * `moonbox run` takes.
 */
#ifndef MB_RUNNER_H
#define MB_RUNNER_H

#include "invoke.h"
#include "mod.h"

#define RUNNER_GRACE_MS		100	/* past the deadline, before a kill */
#define RUNNER_AS_SLACK		(256u << 20)	/* RLIMIT_AS beyond Lua memory */
#define RUNNER_DIR_MAX		64

void	runner_run(const struct inv_request *, struct inv_outcome *);
/* The same, with the worker's capability calls served in this process:
 * each PROTO_CAP_CALL body goes to the handler, and the PROTO_CAP_REPLY
 * body it returns (malloc'ed) goes back; NULL closes the channel, and the
 * worker sees no broker. */
void	runner_run_served(const struct inv_request *, struct inv_outcome *,
	    modcap_handler, void *);
size_t	runner_address_space(const struct lim_config *);
/* For a contained child of one's own (moonbox check): as root, the user to
 * drop to and an empty directory made for it (dir, RUNNER_DIR_MAX bytes;
 * "" when not root; the caller removes it). Returns 0, or -1 with err. */
struct contain_config;
int	runner_drop_config(struct contain_config *, char *, char *, size_t);

#endif
