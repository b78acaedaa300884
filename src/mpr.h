/*
 * mpr.h: a strict msgpack reader that allocates nothing (mpr.c).
 *
 * Every msgpack value moonbox receives is read with it: protocol frames,
 * client requests, rule input. msgpack-c still packs everything we send, but
 * its unpacker allocates for every element an array header declares before
 * it sees them (a 5-byte frame can ask for gigabytes) and stops at a fixed
 * nesting of 32; this reader checks every declared count against the bytes
 * that are left and caps nesting where we choose.
 */
#ifndef MB_MPR_H
#define MB_MPR_H

#include <stddef.h>
#include <stdint.h>

#define MPR_MAX_DEPTH	64	/* nesting of any value we read */

enum mpr_type {
	MPR_NIL, MPR_BOOL,
	MPR_INT,	/* fits int64_t: v.i */
	MPR_UINT,	/* above INT64_MAX: v.u */
	MPR_FLOAT,	/* float 32 or 64: v.f */
	MPR_STR, MPR_BIN,	/* v.s */
	MPR_ARRAY, MPR_MAP,	/* v.n elements (pairs for maps) follow */
	MPR_EXT		/* v.s is the payload, v.ext the type */
};

struct mpr_item {
	enum mpr_type	 type;
	union {
		int		 b;
		int64_t		 i;
		uint64_t	 u;
		double		 f;
		uint32_t	 n;
		struct { const char *p; uint32_t n; } s;
	} v;
	int8_t		 ext;
};

/* A cursor over a buffer that holds whole values. err says what failed. */
struct mpr {
	const unsigned char	*p, *end;
	const char		*err;
};

void	mpr_init(struct mpr *, const void *, size_t);
/* Read one item: a scalar with its payload, or a container's header (its
 * elements follow, and their number fits in what is left). */
int	mpr_next(struct mpr *, struct mpr_item *);
/* Skip, or return the span of, one whole value of at most maxdepth nested
 * containers (empty ones count; 0: a scalar). */
int	mpr_skip(struct mpr *, int);
int	mpr_raw(struct mpr *, int, const char **, size_t *);
/* Whether buf holds exactly one whole value, nested to any depth (only
 * element counts are kept): to check what we packed ourselves. */
int	mpr_whole(const void *, size_t);
/* 0 when no bytes are left, -1 ("bytes left over") otherwise. */
int	mpr_end(struct mpr *);

/* Typed reads for strict decoding: -1 with err set if the next item is not
 * of the type asked for. */
int	mpr_array(struct mpr *, uint32_t *);
int	mpr_map(struct mpr *, uint32_t *);
int	mpr_uint(struct mpr *, uint64_t *);
int	mpr_int(struct mpr *, int64_t *);
int	mpr_bool(struct mpr *, int *);
int	mpr_str(struct mpr *, const char **, size_t *);
int	mpr_bytes(struct mpr *, const char **, size_t *);	/* str or bin */
int	mpr_is_nil(struct mpr *);	/* next is nil: consume it, return 1 */

/*
 * Find where the first whole value of a growing buffer ends, resuming where
 * the last call stopped: for streams of values without a length prefix
 * (msgpack-RPC). Returns 1 with *len its length, 0 when more bytes are
 * needed, -1 when the bytes cannot start a valid value (err set). After 1
 * or -1, init again before the next value.
 */
struct mpr_scan {
	size_t		 pos;
	int		 depth;
	uint64_t	 left[MPR_MAX_DEPTH + 1];
	const char	*err;
};

void	mpr_scan_init(struct mpr_scan *);
int	mpr_scan(struct mpr_scan *, const void *, size_t, int, size_t *);

#endif
