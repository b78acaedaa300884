/*
 * invoke.h: one invocation of a rule (invoke.c), DESIGN.md "One invocation".
 * The same code serves `moonbox run` and the daemon's workers: a sandbox is
 * prepared ahead of the request, used once, and discarded.
 */
#ifndef MB_INVOKE_H
#define MB_INVOKE_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <msgpack.h>

#include "kind.h"
#include "limit.h"

#define INV_MESSAGE_MAX	2048

struct inv_request {
	const char		*rule;		/* name, as ctx.rule sees it */
	const char		*chunkname;	/* "@path": errors say path:line */
	const char		*source;
	size_t			 source_len;
	const char		*input;		/* one msgpack value; NULL: nil */
	size_t			 input_len;
	const char		*id;		/* invocation id */
	struct lim_config	 limits;
};

struct inv_outcome {
	enum mb_kind		 kind;
	char			 message[INV_MESSAGE_MAX];
	msgpack_sbuffer		 result;	/* one msgpack value, when ok */
	int			 counted;	/* instructions were counted */
	uint64_t		 instructions;
	uint64_t		 calls;		/* capability calls */
	int			 has_seed;	/* math.random's, for recordings */
	int64_t			 seed[2];
	size_t			 memory;	/* peak bytes */
	double			 cpu_ms, wall_ms;
	struct lim_log		 log;
};

struct inv_sandbox {
	lua_State		*L;
	struct lim		 lim;
};

/* A sandbox serves one invocation: prepare, run, discard. */
int	inv_prepare(struct inv_sandbox *);
void	inv_run(struct inv_sandbox *, const struct inv_request *,
	    struct inv_outcome *);
void	inv_discard(struct inv_sandbox *);
void	inv_outcome_init(struct inv_outcome *);
void	inv_outcome_free(struct inv_outcome *);
void	inv_fail(struct inv_outcome *, enum mb_kind, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
