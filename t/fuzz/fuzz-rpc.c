/*
 * fuzz-rpc.c: a client's bytes as the master reads them. The input (after
 * two bytes that seed the cuts and the size cap) is a stream, fed in pieces
 * of random sizes the way link.c cuts a LINK_STREAM connection: the
 * incremental scanner mpr_scan finds each whole value, which must end where
 * a scan of the whole rest ends; each value goes through rpcwire_decode,
 * the daemon's envelope decoding, and the params of invoke through
 * invreq_from_rpc. What they accept must be what they promise: a valid rule
 * name, one valid input value, options that only lower limits; every
 * message meant for the client is valid UTF-8.
 */
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "fuzz.h"
#include "invreq.h"
#include "limit.h"
#include "mpr.h"
#include "policy.h"
#include "rpcwire.h"
#include "utf8.h"

#define FUZZ_SEED	2

static void
fuzz_check_text(const char *what, const char *s)
{
	FUZZ_ASSERT(s != NULL, "%s: no message", what);
	FUZZ_ASSERT(utf8_valid(s, strlen(s)), "%s: not UTF-8: %s", what, s);
}

static void
fuzz_invoke(struct rpcwire_msg *m)
{
	struct lim_config l, base;
	struct conv_error ce;
	struct invreq q;
	char err[256];

	if (invreq_from_rpc(&m->params, m->nparams, &q, err, sizeof err) < 0) {
		fuzz_check_text("invreq error", err);
		return;
	}
	FUZZ_ASSERT(policy_rule_name_ok(q.rule, strlen(q.rule)),
	    "invreq accepted the rule name %s", q.rule);
	FUZZ_ASSERT((q.input == NULL) == (q.input_len == 0), "input span");
	FUZZ_ASSERT(q.input == NULL || conv_check(q.input, q.input_len,
	    &ce) == 0, "invreq accepted an input conv_check refuses: %s",
	    ce.what);
	lim_defaults(&base);
	base.instructions = 1000000;
	l = base;
	invopts_apply(&q.opts, &l);
	FUZZ_ASSERT(l.memory > 0 && l.memory <= base.memory, "memory");
	FUZZ_ASSERT(l.timeout_us > 0 && l.timeout_us <= base.timeout_us,
	    "timeout");
	FUZZ_ASSERT(l.instructions > 0 && l.instructions <= base.instructions,
	    "instructions");
	FUZZ_ASSERT(l.output > 0 && l.output <= base.output, "output");
	FUZZ_ASSERT(l.log <= base.log && l.calls <= base.calls, "log, calls");
}

/* One message, as client_on_message takes it. */
static void
fuzz_message(const char *buf, size_t len)
{
	struct rpcwire_msg m;

	switch (rpcwire_decode(buf, len, &m)) {
	case RPCWIRE_CLOSE:
		fuzz_check_text("close reason", m.err);
		break;
	case RPCWIRE_NOTIFICATION:
		break;
	case RPCWIRE_BAD_METHOD:
	case RPCWIRE_BAD_PARAMS:
		fuzz_check_text("error reply", m.err);
		break;
	case RPCWIRE_REQUEST:
		FUZZ_ASSERT(m.method_len <= RPCWIRE_METHOD_MAX, "method");
		if (m.method_len == 6 && memcmp(m.method, "invoke", 6) == 0)
			fuzz_invoke(&m);
		break;
	}
}

/* The scan a fresh reader makes of everything from here on. */
static int
fuzz_whole_scan(const uint8_t *p, size_t n, size_t max, size_t *len,
    const char **err)
{
	struct mpr_scan s;
	int r;

	mpr_scan_init(&s);
	r = mpr_scan(&s, p, n > max ? max : n, MPR_MAX_DEPTH, len);
	*err = s.err;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_rng g;
	struct mpr_scan s;
	const uint8_t *stream = data + FUZZ_SEED;
	size_t total, have = 0, off = 0, max, n;
	char *in;

	if (size < FUZZ_SEED)
		return 0;
	fuzz_rng_init(&g, data, FUZZ_SEED);
	total = size - FUZZ_SEED;
	/* The cap of one message: small ones to meet it, or none to speak of. */
	max = data[0] & 1 ? 1 + fuzz_rng_next(&g, 64) : 16u << 20;
	if ((in = malloc(total ? total : 1)) == NULL)
		return 0;
	mpr_scan_init(&s);
	while (have < total) {
		size_t piece = 1 + fuzz_rng_next(&g, 32);
		int r = 0;

		if (piece > total - have)
			piece = total - have;
		memcpy(in + have, stream + have, piece);
		have += piece;
		/* link_cut and link_drain_input, for LINK_STREAM. */
		while (off < have) {
			size_t rest = have - off, wlen;
			const char *werr;
			int wr;

			r = mpr_scan(&s, in + off, rest > max ? max : rest,
			    MPR_MAX_DEPTH, &n);
			if (r == 0 && rest >= max)
				r = -2;		/* over the size cap */
			if (r == 0)
				break;
			wr = fuzz_whole_scan(stream + off, total - off, max,
			    &wlen, &werr);
			if (r == 1) {
				FUZZ_ASSERT(wr == 1 && wlen == n, "the incremental "
				    "scan cut %zu bytes, a whole scan %d/%zu", n,
				    wr, wlen);
				fuzz_message(in + off, n);
				mpr_scan_init(&s);
				off += n;
				continue;
			}
			if (r == -1)
				FUZZ_ASSERT(wr == -1 && strcmp(werr, s.err) == 0,
				    "the incremental scan refused (%s), a whole "
				    "scan said %d", s.err, wr);
			else
				FUZZ_ASSERT(wr == 0, "over the cap incrementally, "
				    "a whole scan said %d", wr);
			break;
		}
		if (r < 0)
			break;		/* the link closes */
	}
	free(in);
	return 0;
}
