/*
 * units.c: parse the sizes, times and counts of command lines and
 * configuration files. Sizes are binary (1K = 1024); a time without a unit
 * is in milliseconds.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"

static int
units_number(const char *s, uint64_t *n, const char **rest)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	*n = v;
	*rest = end;
	return 0;
}

static int
units_scale(uint64_t n, uint64_t mul, uint64_t *out)
{
	if (mul != 0 && n > UINT64_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

int
units_count(const char *s, uint64_t *out)
{
	const char *rest;

	return units_number(s, out, &rest) < 0 || *rest != '\0' ? -1 : 0;
}

int
units_size(const char *s, size_t *out)
{
	static const struct { const char *suffix; uint64_t mul; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1ull << 10 }, { "kb", 1ull << 10 }, { "kib", 1ull << 10 },
		{ "m", 1ull << 20 }, { "mb", 1ull << 20 }, { "mib", 1ull << 20 },
		{ "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 },
	};
	const char *rest;
	uint64_t n, v;

	if (units_number(s, &n, &rest) < 0)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcasecmp(rest, units[i].suffix) == 0) {
			if (units_scale(n, units[i].mul, &v) < 0 || v > SIZE_MAX)
				return -1;
			*out = (size_t)v;
			return 0;
		}
	}
	return -1;
}

int
units_time_us(const char *s, uint64_t *out)
{
	static const struct { const char *suffix; uint64_t mul; } units[] = {
		{ "", 1000 }, { "us", 1 }, { "ms", 1000 }, { "s", 1000000 },
	};
	const char *rest;
	uint64_t n;

	if (units_number(s, &n, &rest) < 0)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcasecmp(rest, units[i].suffix) == 0)
			return units_scale(n, units[i].mul, out);
	return -1;
}
