/*
 * worker.h: the worker process (worker.c): contains itself, prepares a
 * sandbox, then runs one invocation per PROTO_WK_INVOKE on its channel.
 * The daemon's workers and `moonbox run` are the same code.
 */
#ifndef MB_WORKER_H
#define MB_WORKER_H

#include "contain.h"

struct worker_config {
	int			 chan;		/* to the master */
	int			 broker;	/* to the broker; -1: none */
	struct contain_config	 contain;	/* keep_fds holds chan */
};

/* Never returns. Exit statuses are in worker.c. */
void	worker_main(const struct worker_config *) __attribute__((noreturn));

#endif
