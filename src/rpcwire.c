/*
 * rpcwire.c: reading the msgpack-RPC envelope (rpcwire.h) strictly with
 * mpr.c, in the order moonboxd(8) documents: what cannot carry a msgid
 * closes the connection; past the msgid every fault is an error reply.
 */
#include <string.h>

#include "rpcwire.h"

static enum rpcwire_status
rpcwire_fail(struct rpcwire_msg *m, enum rpcwire_status st, const char *why)
{
	m->err = why;
	return st;
}

enum rpcwire_status
rpcwire_decode(const char *buf, size_t len, struct rpcwire_msg *m)
{
	struct mpr *r = &m->params;
	uint32_t n;
	int64_t type;
	uint64_t msgid;

	memset(m, 0, sizeof *m);
	mpr_init(r, buf, len);
	if (mpr_array(r, &n) < 0 || mpr_int(r, &type) < 0)
		return rpcwire_fail(m, RPCWIRE_CLOSE, r->err);
	if (type == 2 && n == 3)
		return RPCWIRE_NOTIFICATION;
	if (type != 0 || n != 4)
		return rpcwire_fail(m, RPCWIRE_CLOSE,
		    "expected [0, msgid, method, params]");
	if (mpr_uint(r, &msgid) < 0 || msgid > UINT32_MAX)
		return rpcwire_fail(m, RPCWIRE_CLOSE,
		    "msgid must be a 32-bit unsigned integer");
	m->msgid = (uint32_t)msgid;
	if (mpr_str(r, &m->method, &m->method_len) < 0 ||
	    m->method_len > RPCWIRE_METHOD_MAX)
		return rpcwire_fail(m, RPCWIRE_BAD_METHOD, "the method must be "
		    "a string of at most 64 bytes");
	if (mpr_array(r, &m->nparams) < 0)
		return rpcwire_fail(m, RPCWIRE_BAD_PARAMS,
		    "params must be an array");
	return RPCWIRE_REQUEST;
}
