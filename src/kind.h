/*
 * kind.h: the error kinds a client can see (DESIGN.md "One invocation").
 * The order is the wire order of nothing: kinds travel as their names.
 */
#ifndef MB_KIND_H
#define MB_KIND_H

enum mb_kind {
	MB_OK = 0,
	MB_NOT_FOUND,		/* no such rule */
	MB_BAD_REQUEST,		/* the request or its input is malformed */
	MB_SYNTAX,		/* the rule does not compile (or is bytecode) */
	MB_RUNTIME,		/* the rule raised an error */
	MB_MEMORY,		/* memory limit hit */
	MB_INSTRUCTIONS,	/* instruction budget spent */
	MB_TIMEOUT,		/* wall-clock deadline passed */
	MB_KILLED,		/* the process running the rule was killed */
	MB_DENIED,		/* the policy refused a capability call */
	MB_OUTPUT,		/* the result cannot be returned */
	MB_OVERLOADED,		/* no capacity, try later */
	MB_INTERNAL,		/* a fault of moonbox itself */
	MB_KIND_COUNT
};

const char	*kind_name(enum mb_kind);
int		 kind_from_name(const char *, enum mb_kind *);
int		 kind_exit_status(enum mb_kind);

#endif
