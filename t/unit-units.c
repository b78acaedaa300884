/*
 * unit-units.c: sizes, times and counts as users write them (units.c):
 * binary size suffixes in any case, a bare time in milliseconds, and
 * everything else — garbage, empty text, signs, spaces, overflow — refused.
 */
#include <stdint.h>

#include "tap.h"
#include "units.h"

static const struct {
	const char	*text;
	uint64_t	 bytes;
} sizes_good[] = {
	{ "0", 0 },		{ "1", 1 },		{ "65536", 65536 },
	{ "1b", 1 },		{ "1B", 1 },
	{ "64K", 64 << 10 },	{ "64k", 64 << 10 },	{ "64kb", 64 << 10 },
	{ "64KiB", 64 << 10 },	{ "64kib", 64 << 10 },	{ "64KB", 64 << 10 },
	{ "16M", 16 << 20 },	{ "16m", 16 << 20 },	{ "16MiB", 16 << 20 },
	{ "16mb", 16 << 20 },
	{ "1G", 1ull << 30 },	{ "1GiB", 1ull << 30 },	{ "1gib", 1ull << 30 },
	{ "1gB", 1ull << 30 },
	{ "007K", 7 << 10 },
	{ "18446744073709551615", UINT64_MAX },
	{ "17179869183G", 17179869183ull << 30 },	/* the largest G */
};

static const char *const sizes_bad[] = {
	"", "K", "-1", "+1", " 1", "1 ", "1 K", "1.5M", "1e3", "0x10",
	"16Q", "16KK", "16Ki", "16T", "16MiBs", "M16", "1,024",
	"18446744073709551616",			/* over 2^64 - 1 */
	"99999999999999999999999",
	"17179869184G",				/* 2^64 */
	"18014398509481984M",			/* 2^64 */
	"18014398509481984K",			/* 2^64 */
};

static const struct {
	const char	*text;
	uint64_t	 us;
} times_good[] = {
	{ "1500", 1500000 },	{ "0", 0 },		{ "1", 1000 },
	{ "200ms", 200000 },	{ "200MS", 200000 },	{ "200Ms", 200000 },
	{ "2s", 2000000 },	{ "2S", 2000000 },
	{ "500us", 500 },	{ "500US", 500 },
	{ "3600s", 3600000000ull },
	{ "18446744073709551615us", UINT64_MAX },
};

static const char *const times_bad[] = {
	"", "ms", "-5", "+5", " 5", "5 ", "5 ms", "1.5s", "5m", "5h",
	"5min", "5sec", "5ns", "5µs", "5mss", "5ms5",
	"18446744073709551616",
	"18446744073709551615",			/* * 1000 overflows */
	"18446744073709552s",			/* * 10^6 overflows */
};

static const struct {
	const char	*text;
	uint64_t	 n;
} counts_good[] = {
	{ "0", 0 }, { "1", 1 }, { "1000000", 1000000 }, { "00", 0 },
	{ "18446744073709551615", UINT64_MAX },
};

static const char *const counts_bad[] = {
	"", "-1", "+1", " 1", "1 ", "1e3", "10K", "1.0", "0x10", "one",
	"18446744073709551616",
};

static void
test_sizes(void)
{
	for (size_t i = 0; i < sizeof sizes_good / sizeof sizes_good[0]; i++) {
		size_t v = 12345;
		int r = units_size(sizes_good[i].text, &v);

		is_int(r, 0, "size '%s' is accepted", sizes_good[i].text);
		ok(v == sizes_good[i].bytes, "size '%s' is %llu bytes",
		    sizes_good[i].text, (unsigned long long)sizes_good[i].bytes);
	}
	for (size_t i = 0; i < sizeof sizes_bad / sizeof sizes_bad[0]; i++) {
		size_t v = 12345;

		is_int(units_size(sizes_bad[i], &v), -1,
		    "size '%s' is refused", sizes_bad[i]);
		is_int(v, 12345, "a refused size '%s' leaves the output alone",
		    sizes_bad[i]);
	}
}

static void
test_times(void)
{
	for (size_t i = 0; i < sizeof times_good / sizeof times_good[0]; i++) {
		uint64_t v = 12345;

		is_int(units_time_us(times_good[i].text, &v), 0,
		    "time '%s' is accepted", times_good[i].text);
		ok(v == times_good[i].us, "time '%s' is %llu us",
		    times_good[i].text, (unsigned long long)times_good[i].us);
	}
	for (size_t i = 0; i < sizeof times_bad / sizeof times_bad[0]; i++) {
		uint64_t v = 12345;

		is_int(units_time_us(times_bad[i], &v), -1,
		    "time '%s' is refused", times_bad[i]);
	}
}

static void
test_counts(void)
{
	for (size_t i = 0; i < sizeof counts_good / sizeof counts_good[0]; i++) {
		uint64_t v = 12345;

		is_int(units_count(counts_good[i].text, &v), 0,
		    "count '%s' is accepted", counts_good[i].text);
		ok(v == counts_good[i].n, "count '%s' is %llu",
		    counts_good[i].text, (unsigned long long)counts_good[i].n);
	}
	for (size_t i = 0; i < sizeof counts_bad / sizeof counts_bad[0]; i++) {
		uint64_t v = 12345;

		is_int(units_count(counts_bad[i], &v), -1,
		    "count '%s' is refused", counts_bad[i]);
	}
}

int
main(void)
{
	test_sizes();
	test_times();
	test_counts();
	return done_testing();
}
