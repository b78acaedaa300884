/* units.h: sizes, times and counts as users write them (units.c). */
#ifndef MB_UNITS_H
#define MB_UNITS_H

#include <stddef.h>
#include <stdint.h>

int	units_size(const char *, size_t *);	/* 65536, 64K, 16M, 1GiB */
int	units_time_us(const char *, uint64_t *);	/* 1500, 200ms, 2s, 500us */
int	units_count(const char *, uint64_t *);	/* a decimal integer */

#endif
