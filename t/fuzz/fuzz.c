/*
 * fuzz.c: helpers of the harnesses (fuzz.h). Uses mpr.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: assertion failed: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

struct fuzz_span {
	const char	*p;
	size_t		 n;
};

static int fuzz_value_equal(struct mpr *, struct mpr *);

static int
fuzz_span_equal(const struct fuzz_span *a, const struct fuzz_span *b)
{
	struct mpr ra, rb;

	mpr_init(&ra, a->p, a->n);
	mpr_init(&rb, b->p, b->n);
	return fuzz_value_equal(&ra, &rb);
}

/* Two maps of n pairs: every pair of a has an equal pair in b (keys in a
 * map from our code are unique, so equal sizes make the sets equal). */
static int
fuzz_map_equal(struct mpr *a, struct mpr *b, uint32_t n)
{
	struct fuzz_span *ka, *va, *kb, *vb;
	int eq = 1;

	if (n == 0)
		return 1;
	ka = calloc(4 * (size_t)n, sizeof *ka);
	if (ka == NULL)
		abort();
	va = ka + n, kb = va + n, vb = kb + n;
	for (uint32_t i = 0; i < n; i++)
		if (mpr_raw(a, MPR_MAX_DEPTH, &ka[i].p, &ka[i].n) < 0 ||
		    mpr_raw(a, MPR_MAX_DEPTH, &va[i].p, &va[i].n) < 0 ||
		    mpr_raw(b, MPR_MAX_DEPTH, &kb[i].p, &kb[i].n) < 0 ||
		    mpr_raw(b, MPR_MAX_DEPTH, &vb[i].p, &vb[i].n) < 0)
			fuzz_fail(__FILE__, __LINE__, "mpr_raw", "a map that "
			    "was checked does not read");
	for (uint32_t i = 0; i < n && eq; i++) {
		uint32_t k;

		for (k = 0; k < n; k++)
			if (fuzz_span_equal(&ka[i], &kb[k]))
				break;
		eq = k < n && fuzz_span_equal(&va[i], &vb[k]);
	}
	free(ka);
	return eq;
}

static int
fuzz_value_equal(struct mpr *a, struct mpr *b)
{
	struct mpr_item x, y;

	if (mpr_next(a, &x) < 0 || mpr_next(b, &y) < 0)
		fuzz_fail(__FILE__, __LINE__, "mpr_next", "a value that was "
		    "checked does not read");
	if (x.type != y.type)
		return 0;
	switch (x.type) {
	case MPR_NIL:
		return 1;
	case MPR_BOOL:
		return x.v.b == y.v.b;
	case MPR_INT:
		return x.v.i == y.v.i;
	case MPR_UINT:
		return x.v.u == y.v.u;
	case MPR_FLOAT:
		return memcmp(&x.v.f, &y.v.f, sizeof x.v.f) == 0;
	case MPR_STR:
	case MPR_BIN:
	case MPR_EXT:
		return x.ext == y.ext && x.v.s.n == y.v.s.n &&
		    memcmp(x.v.s.p, y.v.s.p, x.v.s.n) == 0;
	case MPR_ARRAY:
		if (x.v.n != y.v.n)
			return 0;
		for (uint32_t i = 0; i < x.v.n; i++)
			if (!fuzz_value_equal(a, b))
				return 0;
		return 1;
	case MPR_MAP:
		return x.v.n == y.v.n && fuzz_map_equal(a, b, x.v.n);
	}
	return 0;
}

int
fuzz_mp_equal(const char *a, size_t na, const char *b, size_t nb)
{
	struct mpr ra, rb;

	mpr_init(&ra, a, na);
	mpr_init(&rb, b, nb);
	return fuzz_value_equal(&ra, &rb);
}

/* splitmix64 over a seed taken from the input's bytes. */
void
fuzz_rng_init(struct fuzz_rng *g, const uint8_t *p, size_t n)
{
	g->s = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++)
		g->s = (g->s ^ p[i]) * 0x100000001b3ull;
}

uint32_t
fuzz_rng_next(struct fuzz_rng *g, uint32_t n)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return n == 0 ? 0 : (uint32_t)(z % n);
}
