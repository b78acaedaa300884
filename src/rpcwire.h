/*
 * rpcwire.h: the envelope of a msgpack-RPC message as the master reads it
 * (rpcwire.c): [0, msgid, method, params] or the notification
 * [2, method, params]. Pure decoding, no master state: rpc.c answers or
 * closes by what it returns, and the fuzzing harness t/fuzz/fuzz-rpc.c
 * calls the same code.
 */
#ifndef MB_RPCWIRE_H
#define MB_RPCWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "mpr.h"

#define RPCWIRE_METHOD_MAX	64

enum rpcwire_status {
	RPCWIRE_REQUEST,	/* all of it read: params is positioned after
				 * the params array's header */
	RPCWIRE_BAD_PARAMS,	/* as REQUEST, but params is not an array */
	RPCWIRE_BAD_METHOD,	/* msgid known, method not a short string */
	RPCWIRE_NOTIFICATION,	/* nothing to answer */
	RPCWIRE_CLOSE,		/* no msgid to answer: err says why */
};

struct rpcwire_msg {
	uint32_t	 msgid;
	const char	*method;
	size_t		 method_len;
	struct mpr	 params;	/* the rest of the message */
	uint32_t	 nparams;
	const char	*err;		/* CLOSE, BAD_*: what was wrong */
};

/* Decode one whole msgpack value (as the link cut it). The message points
 * into buf. */
enum rpcwire_status rpcwire_decode(const char *, size_t, struct rpcwire_msg *);

#endif
