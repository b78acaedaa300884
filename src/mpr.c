/*
 * mpr.c: the strict msgpack reader (mpr.h). One function decodes one item's
 * header from bytes that may be incomplete; the cursor, the skipper and the
 * incremental scanner are built on it. Nothing is allocated.
 */
#include <string.h>

#include "mpr.h"

static uint64_t
mpr_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Width of the size field of a str/bin/ext/array/map byte, or of a number. */
static const struct {
	unsigned char	byte;
	enum mpr_type	type;
	unsigned char	width;		/* bytes after the type byte */
	unsigned char	sized;		/* width is a length: payload follows */
} mpr_codes[] = {
	{ 0xc0, MPR_NIL, 0, 0 },	{ 0xc2, MPR_BOOL, 0, 0 },
	{ 0xc3, MPR_BOOL, 0, 0 },
	{ 0xc4, MPR_BIN, 1, 1 },	{ 0xc5, MPR_BIN, 2, 1 },
	{ 0xc6, MPR_BIN, 4, 1 },
	{ 0xc7, MPR_EXT, 1, 1 },	{ 0xc8, MPR_EXT, 2, 1 },
	{ 0xc9, MPR_EXT, 4, 1 },
	{ 0xca, MPR_FLOAT, 4, 0 },	{ 0xcb, MPR_FLOAT, 8, 0 },
	{ 0xcc, MPR_UINT, 1, 0 },	{ 0xcd, MPR_UINT, 2, 0 },
	{ 0xce, MPR_UINT, 4, 0 },	{ 0xcf, MPR_UINT, 8, 0 },
	{ 0xd0, MPR_INT, 1, 0 },	{ 0xd1, MPR_INT, 2, 0 },
	{ 0xd2, MPR_INT, 4, 0 },	{ 0xd3, MPR_INT, 8, 0 },
	{ 0xd4, MPR_EXT, 0, 0 },	{ 0xd5, MPR_EXT, 0, 0 },
	{ 0xd6, MPR_EXT, 0, 0 },	{ 0xd7, MPR_EXT, 0, 0 },
	{ 0xd8, MPR_EXT, 0, 0 },
	{ 0xd9, MPR_STR, 1, 1 },	{ 0xda, MPR_STR, 2, 1 },
	{ 0xdb, MPR_STR, 4, 1 },
	{ 0xdc, MPR_ARRAY, 2, 0 },	{ 0xdd, MPR_ARRAY, 4, 0 },
	{ 0xde, MPR_MAP, 2, 0 },	{ 0xdf, MPR_MAP, 4, 0 },
};

static double
mpr_float(const unsigned char *p, int width)
{
	uint64_t bits = mpr_be(p, width);

	if (width == 4) {
		uint32_t b32 = (uint32_t)bits;
		float f;

		memcpy(&f, &b32, sizeof f);
		return f;
	}
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

/* The numeric value of a fixed-width number item. */
static void
mpr_number(struct mpr_item *it, const unsigned char *p, int width)
{
	uint64_t u = mpr_be(p, width);

	switch (it->type) {
	case MPR_FLOAT:
		it->v.f = mpr_float(p, width);
		break;
	case MPR_UINT:
		if (u <= INT64_MAX) {
			it->type = MPR_INT;
			it->v.i = (int64_t)u;
		} else
			it->v.u = u;
		break;
	default:	/* MPR_INT: sign-extend */
		if (width < 8 && (u >> (8 * width - 1)) & 1)
			u |= ~0ULL << (8 * width);
		it->v.i = (int64_t)u;
	}
}

/* The item whose header is the table entry c, at p with avail bytes.
 * Returns the bytes it takes, 0 when incomplete, -1 when invalid. */
static long long
mpr_coded(unsigned c, const unsigned char *p, size_t avail,
    struct mpr_item *it)
{
	size_t i, w, len;

	for (i = 0; i < sizeof mpr_codes / sizeof mpr_codes[0]; i++)
		if (mpr_codes[i].byte == c)
			break;
	if (i == sizeof mpr_codes / sizeof mpr_codes[0])
		return -1;		/* 0xc1: never used */
	it->type = mpr_codes[i].type;
	w = mpr_codes[i].width;
	if (c >= 0xd4 && c <= 0xd8) {	/* fixext: type byte, 2^k bytes */
		len = (size_t)1 << (c - 0xd4);
		if (avail < 2 + len)
			return 0;
		it->ext = (int8_t)p[1];
		it->v.s.p = (const char *)p + 2;
		it->v.s.n = (uint32_t)len;
		return (long long)(2 + len);
	}
	if (avail < 1 + w)
		return 0;
	if (it->type == MPR_NIL)
		return 1;
	if (it->type == MPR_BOOL) {
		it->v.b = c == 0xc3;
		return 1;
	}
	if (it->type == MPR_ARRAY || it->type == MPR_MAP) {
		it->v.n = (uint32_t)mpr_be(p + 1, (int)w);
		return (long long)(1 + w);
	}
	if (!mpr_codes[i].sized) {
		mpr_number(it, p + 1, (int)w);
		return (long long)(1 + w);
	}
	len = (size_t)mpr_be(p + 1, (int)w);
	if (it->type == MPR_EXT) {
		if (avail < 2 + w || avail - 2 - w < len)
			return 0;
		it->ext = (int8_t)p[1 + w];
		it->v.s.p = (const char *)p + 2 + w;
		it->v.s.n = (uint32_t)len;
		return (long long)(2 + w + len);
	}
	if (avail - 1 - w < len)
		return 0;
	it->v.s.p = (const char *)p + 1 + w;
	it->v.s.n = (uint32_t)len;
	return (long long)(1 + w + len);
}

/* Decode the item at p. Returns its length, 0 when incomplete, -1 when
 * invalid. A container's length is its header's only. */
static long long
mpr_head(const unsigned char *p, size_t avail, struct mpr_item *it)
{
	unsigned c;

	if (avail == 0)
		return 0;
	c = p[0];
	it->ext = 0;
	if (c <= 0x7f || c >= 0xe0) {
		it->type = MPR_INT;
		it->v.i = c <= 0x7f ? (int64_t)c : (int64_t)(int8_t)c;
		return 1;
	}
	if (c <= 0x8f || (c >= 0x90 && c <= 0x9f)) {
		it->type = c <= 0x8f ? MPR_MAP : MPR_ARRAY;
		it->v.n = c & 0x0f;
		return 1;
	}
	if (c <= 0xbf) {
		size_t len = c & 0x1f;

		if (avail < 1 + len)
			return 0;
		it->type = MPR_STR;
		it->v.s.p = (const char *)p + 1;
		it->v.s.n = (uint32_t)len;
		return (long long)(1 + len);
	}
	return mpr_coded(c, p, avail, it);
}

/* Elements a container item declares (pairs count twice). */
static uint64_t
mpr_elements(const struct mpr_item *it)
{
	if (it->type == MPR_ARRAY)
		return it->v.n;
	if (it->type == MPR_MAP)
		return 2 * (uint64_t)it->v.n;
	return 0;
}

void
mpr_init(struct mpr *r, const void *buf, size_t len)
{
	r->p = buf;
	r->end = r->p + len;
	r->err = NULL;
}

static int
mpr_fail(struct mpr *r, const char *what)
{
	r->err = what;
	return -1;
}

int
mpr_next(struct mpr *r, struct mpr_item *it)
{
	size_t avail = (size_t)(r->end - r->p);
	long long n = mpr_head(r->p, avail, it);

	if (n < 0)
		return mpr_fail(r, "not valid msgpack");
	if (n == 0)
		return mpr_fail(r, avail == 0 ? "message too short" :
		    "value is truncated");
	r->p += n;
	/* Every element takes at least one byte. */
	if (mpr_elements(it) > (uint64_t)(r->end - r->p))
		return mpr_fail(r, "a container declares more elements than "
		    "there are bytes");
	return 0;
}

void
mpr_scan_init(struct mpr_scan *s)
{
	memset(s, 0, sizeof *s);
}

/* One step for the scanner over buf[0..len): 1 done, 0 need more, -1 bad. */
int
mpr_scan(struct mpr_scan *s, const void *buf, size_t len, int maxdepth,
    size_t *out)
{
	const unsigned char *p = buf;
	struct mpr_item it;

	if (maxdepth > MPR_MAX_DEPTH)
		maxdepth = MPR_MAX_DEPTH;
	if (s->pos == 0 && s->depth == 0)
		s->left[0] = 1;
	for (;;) {
		long long n = mpr_head(p + s->pos, len - s->pos, &it);
		uint64_t k;

		if (n < 0) {
			s->err = "not valid msgpack";
			return -1;
		}
		if (n == 0)
			return 0;
		s->pos += (size_t)n;
		s->left[s->depth]--;
		/* An empty container is a level too: conv.c and jsonmp.c count
		 * containers, so 65 nested arrays are too deep even when the
		 * innermost holds nothing. */
		if ((it.type == MPR_ARRAY || it.type == MPR_MAP) &&
		    s->depth >= maxdepth) {
			s->err = "nesting is too deep";
			return -1;
		}
		if ((k = mpr_elements(&it)) > 0)
			s->left[++s->depth] = k;
		while (s->left[s->depth] == 0) {
			if (s->depth == 0) {
				*out = s->pos;
				return 1;
			}
			s->depth--;
		}
	}
}

int
mpr_raw(struct mpr *r, int maxdepth, const char **p, size_t *n)
{
	struct mpr_scan s;
	size_t len;
	int st;

	mpr_scan_init(&s);
	st = mpr_scan(&s, r->p, (size_t)(r->end - r->p), maxdepth, &len);
	if (st < 0)
		return mpr_fail(r, s.err);
	if (st == 0)	/* as mpr_next says it */
		return mpr_fail(r, r->p == r->end ? "message too short" :
		    "value is truncated");
	*p = (const char *)r->p;
	*n = len;
	r->p += len;
	return 0;
}

int
mpr_skip(struct mpr *r, int maxdepth)
{
	const char *p;
	size_t n;

	return mpr_raw(r, maxdepth, &p, &n);
}

int
mpr_whole(const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;
	uint64_t left = 1;
	struct mpr_item it;

	while (left > 0) {
		long long n = mpr_head(p, (size_t)(end - p), &it);

		if (n <= 0)
			return 0;
		p += n;
		left += mpr_elements(&it) - 1;
	}
	return p == end;
}

int
mpr_end(struct mpr *r)
{
	if (r->p != r->end)
		return mpr_fail(r, "bytes left over");
	return 0;
}

/* Read the next item and insist on its type. */
static int
mpr_want(struct mpr *r, struct mpr_item *it, enum mpr_type t, const char *what)
{
	if (mpr_next(r, it) < 0)
		return -1;
	if (it->type != t)
		return mpr_fail(r, what);
	return 0;
}

int
mpr_array(struct mpr *r, uint32_t *n)
{
	struct mpr_item it;

	if (mpr_want(r, &it, MPR_ARRAY, "expected an array") < 0)
		return -1;
	*n = it.v.n;
	return 0;
}

int
mpr_map(struct mpr *r, uint32_t *n)
{
	struct mpr_item it;

	if (mpr_want(r, &it, MPR_MAP, "expected a map") < 0)
		return -1;
	*n = it.v.n;
	return 0;
}

int
mpr_int(struct mpr *r, int64_t *v)
{
	struct mpr_item it;

	if (mpr_want(r, &it, MPR_INT, "expected an integer") < 0)
		return -1;
	*v = it.v.i;
	return 0;
}

int
mpr_uint(struct mpr *r, uint64_t *v)
{
	struct mpr_item it;

	if (mpr_next(r, &it) < 0)
		return -1;
	if (it.type == MPR_UINT)
		*v = it.v.u;
	else if (it.type == MPR_INT && it.v.i >= 0)
		*v = (uint64_t)it.v.i;
	else
		return mpr_fail(r, "expected a non-negative integer");
	return 0;
}

int
mpr_bool(struct mpr *r, int *v)
{
	struct mpr_item it;

	if (mpr_want(r, &it, MPR_BOOL, "expected a boolean") < 0)
		return -1;
	*v = it.v.b;
	return 0;
}

int
mpr_str(struct mpr *r, const char **s, size_t *n)
{
	struct mpr_item it;

	if (mpr_want(r, &it, MPR_STR, "expected a string") < 0)
		return -1;
	*s = it.v.s.p;
	*n = it.v.s.n;
	return 0;
}

int
mpr_bytes(struct mpr *r, const char **s, size_t *n)
{
	struct mpr_item it;

	if (mpr_next(r, &it) < 0)
		return -1;
	if (it.type != MPR_STR && it.type != MPR_BIN)
		return mpr_fail(r, "expected a string or binary");
	*s = it.v.s.p;
	*n = it.v.s.n;
	return 0;
}

int
mpr_is_nil(struct mpr *r)
{
	if (r->p < r->end && *r->p == 0xc0) {
		r->p++;
		return 1;
	}
	return 0;
}
