/*
 * invreq.h: an invoke request as every front end reads it (invreq.c): the
 * rule's name, the input as one msgpack value, and the options that lower
 * the pool's limits. msgpack-RPC's params and the HTTP API's JSON both come
 * down to this, and then to one job.
 */
#ifndef MB_INVREQ_H
#define MB_INVREQ_H

#include <stddef.h>
#include <stdint.h>

#include "limit.h"
#include "mpr.h"
#include "proto.h"

enum invopt {
	INVOPT_DEADLINE,	/* ms */
	INVOPT_MEMORY,		/* bytes */
	INVOPT_INSTRUCTIONS,
	INVOPT_OUTPUT,		/* bytes */
	INVOPT_LOG,		/* bytes */
	INVOPT_CALLS,
	INVOPT_RECORD,		/* boolean: record this invocation */
	INVOPT_COUNT
};

struct invopts {
	uint64_t	 v[INVOPT_COUNT];
	unsigned	 given;		/* 1 << INVOPT_* */
};

struct invreq {
	char		 rule[PROTO_NAME_MAX + 1];
	const char	*input;		/* one msgpack value; NULL: nil */
	size_t		 input_len;
	struct invopts	 opts;
};

/* params of invoke: [rule, input] or [rule, input, options]; the reader
 * is positioned after the params array header. Nothing is copied: the
 * request points into the message. */
int	invreq_from_rpc(struct mpr *, uint32_t, struct invreq *, char *,
	    size_t);
/* One option by name (for front ends that read them one by one). */
int	invopts_set(struct invopts *, const char *, size_t, uint64_t, char *,
	    size_t);
/* Lower the pool's limits by what the request asks. */
void	invopts_apply(const struct invopts *, struct lim_config *);
int	invopts_record(const struct invopts *);

#endif
