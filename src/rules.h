/*
 * rules.h: the rules directory, read into memory (rules.c). The master
 * holds each rule's source as bytes and never parses it; a worker compiles
 * it inside the sandbox.
 */
#ifndef MB_RULES_H
#define MB_RULES_H

#include <stddef.h>

#include "policy.h"

#define RULES_MAX		100000
#define RULES_MAX_SOURCE	(1u << 20)
#define RULES_MAX_DEPTH		16

struct rule {
	char			*name;		/* path without .lua */
	char			*source;
	size_t			 len;
	const struct pool_conf	*pool;		/* NULL: no pool runs it */
};

struct ruleset {
	struct rule	*rules;		/* sorted by name */
	size_t		 n, cap;
};

/* Read every NAME.lua under dir (not NAME_test.lua, not hidden files),
 * each mapped to its pool in p. All or nothing. */
int		 ruleset_load(const char *, const struct policy *,
		    struct ruleset *, char *, size_t);
const struct rule *ruleset_find(const struct ruleset *, const char *);
void		 ruleset_free(struct ruleset *);

#endif
