/*
 * kind.c: names and exit statuses of the error kinds, one table.
 */
#include <string.h>

#include "kind.h"

/* Exit statuses of moonbox(1): 1 the rule failed, 2 the request was wrong,
 * 3 the service failed. */
static const struct {
	const char	*name;
	int		 exit_status;
} kinds[MB_KIND_COUNT] = {
	[MB_OK]			= { "ok",		0 },
	[MB_NOT_FOUND]		= { "not_found",	2 },
	[MB_BAD_REQUEST]	= { "bad_request",	2 },
	[MB_SYNTAX]		= { "syntax",		1 },
	[MB_RUNTIME]		= { "runtime",		1 },
	[MB_MEMORY]		= { "memory",		1 },
	[MB_INSTRUCTIONS]	= { "instructions",	1 },
	[MB_TIMEOUT]		= { "timeout",		1 },
	[MB_KILLED]		= { "killed",		1 },
	[MB_DENIED]		= { "denied",		1 },
	[MB_OUTPUT]		= { "output",		1 },
	[MB_OVERLOADED]		= { "overloaded",	3 },
	[MB_INTERNAL]		= { "internal",		3 },
};

const char *
kind_name(enum mb_kind k)
{
	return (unsigned)k < MB_KIND_COUNT ? kinds[k].name : "internal";
}

int
kind_from_name(const char *name, enum mb_kind *out)
{
	for (int k = 0; k < MB_KIND_COUNT; k++) {
		if (strcmp(kinds[k].name, name) == 0) {
			*out = (enum mb_kind)k;
			return 0;
		}
	}
	return -1;
}

int
kind_exit_status(enum mb_kind k)
{
	return (unsigned)k < MB_KIND_COUNT ? kinds[k].exit_status : 3;
}
