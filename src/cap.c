/*
 * cap.c: the names of the capabilities (cap.h), as policy files, audit
 * records and `moonbox policy explain` write them. One table; uses nothing.
 */
#include <string.h>

#include "cap.h"

static const char *const cap_names[CAP_KIND_COUNT] = {
	[CAP_LOG] = "log",
	[CAP_KV] = "kv",
	[CAP_HTTP] = "http",
	[CAP_SECRET] = "secret",
};

const char *
cap_name(enum cap_kind k)
{
	if ((unsigned)k >= CAP_KIND_COUNT)
		return "unknown";
	return cap_names[k];
}

int
cap_from_name(const char *name, enum cap_kind *out)
{
	for (int k = 0; k < CAP_KIND_COUNT; k++) {
		if (strcmp(cap_names[k], name) == 0) {
			*out = (enum cap_kind)k;
			return 0;
		}
	}
	return -1;
}
