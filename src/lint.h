/*
 * lint.h: moonbox check's findings about one rule. lint.c compiles the
 * rule with the sandbox's loader and reads it with lua-stdlib/lint.lua in
 * a contained child process, which sends back one frame (below);
 * lint_policy.c judges the capability calls it found against a policy.
 *
 * The child's frame: the 4-byte length of proto.h, then one msgpack array
 *   [diags: [[line:uint, col:uint, severity:str, code:str, message:str],
 *            ...],
 *    calls: [[line:uint, col:uint, cap:str, method:str, value:str|nil,
 *             complete:bool, http_method:str|nil], ...]]
 * read strictly (mpr.c): a child that sends anything else, or nothing,
 * is a fault of the checker, reported as such.
 */
#ifndef MB_LINT_H
#define MB_LINT_H

#include <stddef.h>

#define LINT_MAX_DIAGS		1000	/* per rule; the rest are counted */
#define LINT_MAX_CALLS		10000
#define LINT_MAX_SOURCE		(1u << 20)
#define LINT_TIMEOUT_MS		30000	/* the child's wall-clock limit */

enum lint_severity { LINT_WARNING, LINT_ERROR };

struct lint_diag {
	int			 line, col;	/* 0: the file as a whole */
	enum lint_severity	 severity;
	char			 code[24];	/* syntax, undefined-global, ... */
	char			*message;
};

/* A capability call whose arguments are constants. */
struct lint_call {
	int	 line, col;
	char	 cap[16];		/* log kv http secret */
	char	 method[16];
	char	*value;			/* key, secret or URL; NULL: none */
	size_t	 len;
	int	 complete;		/* value is all of it, not a prefix */
	char	 http_method[16];	/* "": not a constant */
};

struct lint_report {
	struct lint_diag	*diags;
	size_t			 ndiags, capdiags, dropped;
	struct lint_call	*calls;
	size_t			 ncalls, capcalls;
	int			 failed;	/* the checker failed, not the rule */
};

/* Compile and read the rule in a contained child. Its findings, or why
 * it could not be checked (failed set), go into the report. A test file
 * (LINT_TEST) is read against the globals of moonbox test's sandbox, and
 * need not return a function. */
enum lint_mode { LINT_RULE, LINT_TEST };
void	lint_rule(const char *, size_t, enum lint_mode, struct lint_report *);
int	lint_is_test_file(const char *);
int	lint_add(struct lint_report *, int, int, enum lint_severity,
	    const char *, const char *, ...)
	    __attribute__((format(printf, 6, 7)));
void	lint_sort(struct lint_report *);
void	lint_free(struct lint_report *);

/* lint_policy.c: an error for each call that no allow statement of the
 * policy could ever allow the rule. */
struct policy;
void	lint_policy(const struct policy *, const char *, const char *,
	    struct lint_report *);

#endif
