/*
 * fuzz.h: what the libFuzzer harnesses of t/fuzz/ share (fuzz.c): an
 * assertion that aborts with a message (libFuzzer saves the input), a
 * comparison of two msgpack values by meaning (maps as sets of pairs,
 * floats by their bits), and a small deterministic generator seeded from
 * the input, for the harnesses that cut a stream at random points.
 */
#ifndef MB_FUZZ_H
#define MB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "mpr.h"

#define FUZZ_ASSERT(cond, ...) do {					\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);	\
} while (0)

void	fuzz_fail(const char *, int, const char *, const char *, ...)
	    __attribute__((noreturn, format(printf, 4, 5)));
/* 1 when the one value in a and the one in b mean the same, 0 when they
 * differ; both must be valid (checked by the caller). */
int	fuzz_mp_equal(const char *, size_t, const char *, size_t);

struct fuzz_rng {
	uint64_t	 s;
};

void		fuzz_rng_init(struct fuzz_rng *, const uint8_t *, size_t);
uint32_t	fuzz_rng_next(struct fuzz_rng *, uint32_t);	/* [0, n) */

#endif
