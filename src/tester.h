/*
 * tester.h: `moonbox test`, a rule's tests run as production runs the rule.
 * See moonbox(1), "The test command", and moonbox-lua(7), "TEST API".
 *
 * The parent (cmd_test.c) is trusted: it finds the test files and their
 * rules (tester_find.c), parses the policy, and runs each test file in a
 * contained worker process, N at a time (tester_run.c). A worker
 * (tester_work.c) runs each test of its file in a fresh sandbox state with
 * the test API (lua-stdlib/test.lua); a test invokes a rule in another
 * fresh sandbox through inv_prepare/inv_run/inv_discard, the daemon's path,
 * and the rule's capability calls are judged by the policy and served from
 * the test's mocks (tester_mock.c). Line coverage is counted by trusted C
 * in the worker (tester_cov.c). Results travel back as the messages below
 * (tester_msg.c) and are printed by tester_out.c.
 */
#ifndef MB_TESTER_H
#define MB_TESTER_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <msgpack.h>

#include "limit.h"
#include "policy.h"

#define TST_DEFAULT_TEST_MEMORY		(64u << 20)
#define TST_DEFAULT_TEST_TIMEOUT_US	(10u * 1000 * 1000)
#define TST_TIMEOUT_FACTOR		5	/* a test gets at least this many
						 * invocation timeouts */
#define TST_GRACE_MS			2000	/* past a test's deadline, before
						 * its worker is killed */
#define TST_WORKER_CPU_S		600	/* RLIMIT_CPU of a worker */
#define TST_MAX_TESTS			10000	/* in one file */
#define TST_MAX_SOURCE			(1u << 20)	/* a rule or test file */
#define TST_MAX_LINES			(1 << 20)	/* counted by coverage */
#define TST_LOG_KEEP			(64u << 10)	/* log bytes kept per test */

/*
 * The messages between the parent and a worker. They never leave
 * `moonbox test`; framing and strict decoding are proto.h's, the numbers
 * are outside its ranges: 9xx worker -> parent, 95x parent -> worker.
 * A worker's job (its file, the options, the policy) is inherited through
 * fork(); only what is decided later travels.
 */
enum tst_msg {
	/* [900, tests:[[name:str, suite:[str...], test:str, line:uint,
	 *  skip:bool]...]]: the file loaded; its tests in order. First. */
	TST_MSG_LIST = 900,
	/* [901, message:str]: the file does not load. The worker exits. */
	TST_MSG_LOAD_ERROR = 901,
	/* [902, index:uint]: a test starts (the parent's watchdog). */
	TST_MSG_BEGIN = 902,
	/* [903, index:uint, status:str ("pass", "fail"), message:str,
	 *  duration_us:uint, usage:[invocations:uint, instructions:uint|nil,
	 *  memory:uint, wall_us:uint], log:[line:bin...]]: its outcome. */
	TST_MSG_RESULT = 903,
	/* [904, rule:str]: a test invokes a rule; reply TST_MSG_RULE. */
	TST_MSG_NEED_RULE = 904,
	/* [905, rule:str, lines:[uint...], hits:[uint...]]: coverage of a
	 * rule: its executable lines and their counts, same length. */
	TST_MSG_COVERAGE = 905,
	/* [906]: every test asked for has run. The worker exits. */
	TST_MSG_DONE = 906,
	/* [950, rule:str, found:bool, source:str]: the answer to NEED_RULE. */
	TST_MSG_RULE = 950,
	/* [951, indices:[uint...]]: run these tests. Reply to LIST. */
	TST_MSG_RUN = 951,
};

enum tst_format { TST_HUMAN, TST_TAP, TST_JSON };

/* The options, as cmd_test.c parsed them. */
struct tst_opts {
	struct lim_config	 limits;	/* of an invocation */
	unsigned		 given;		/* RUNOPT_GIVEN_*: from options */
	size_t			 test_memory;	/* of a test's own sandbox */
	uint64_t		 test_timeout_us;
	const char		*rules_dir;	/* --rules; NULL: per argument */
	const char		*policy_path;	/* NULL: deny every call */
	struct policy		 policy;
	const char		*filter;
	enum tst_format		 format;
	int			 verbose;
	int			 tty;		/* stdout is a terminal: ✓ ✗ */
	int			 color;		/* and colour is welcome */
	unsigned		 jobs;
	int			 coverage;
	const char		*coverage_file;
};

enum tst_status { TST_PASS, TST_FAIL, TST_SKIP, TST_ERROR };

struct tst_usage {
	uint64_t		 invocations;
	int			 counted;
	uint64_t		 instructions;	/* the most of one invocation */
	uint64_t		 memory;	/* the most of one invocation */
	uint64_t		 wall_us;	/* of every invocation */
};

struct tst_test {
	char			*name;		/* suites and test, space-joined */
	char			**suite;	/* describe names, outermost first */
	int			 nsuite;
	char			*test;		/* the it() name */
	unsigned		 line;
	int			 skip;
	int			 selected;	/* by --filter */
	/* The outcome, once known. */
	int			 done;
	enum tst_status		 status;
	char			*message;
	uint64_t		 duration_us;
	struct tst_usage	 usage;
	char			**log;
	size_t			 nlog;
};

struct tst_file {
	char			*path;		/* as found: examples/x_test.lua */
	char			*source;
	size_t			 len;
	char			*rule;		/* the rule beside it, or NULL */
	const char		*rules_dir;	/* rule names are paths here */
	struct tst_test		*tests;
	size_t			 ntests;
	int			 listed;
	char			*load_error;	/* it does not load */
	int			 done;
};

/* Coverage of one rule file: counts[line] for its executable lines. */
struct tst_cov {
	char			*rule;
	char			*path;
	uint64_t		*hits;		/* by line */
	unsigned char		*active;	/* by line: executable */
	size_t			 nlines;	/* entries of both */
};

struct tst_covset {
	struct tst_cov		*v;
	size_t			 n;
	int			 incomplete;	/* a worker was lost */
};

struct contain_config;

/* tester_find.c: the test files the arguments name, sorted; -1 with a
 * message printed for a usage error. */
int	tst_find(int, char **, struct tst_opts *, struct tst_file **,
	    size_t *);
/* A file's bytes (at most max), NUL-terminated; NULL with why in err. */
char	*tst_read(const char *, size_t, size_t *, char *, size_t);
/* The path of a rule by name under a rules directory (malloc'ed). */
char	*tst_rule_path(const char *, const char *);
void	tst_files_free(struct tst_file *, size_t);

/* tester_run.c: run every file's tests in workers, collect the results
 * and the coverage. */
void	tst_run(const struct tst_opts *, struct tst_file *, size_t,
	    struct tst_covset *);

/* tester_work.c: a worker's life, from fork to exit. */
void	tw_main(const struct tst_opts *, const struct tst_file *,
	    const struct contain_config *, int) __attribute__((noreturn));
/* For tester_mock.c, in a worker: the test file's innermost line as
 * "path:line"; an error raised there; a failure of the running test. */
int	tw_where(lua_State *, char *, size_t);
int	tw_error(lua_State *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	tw_failure(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* tester_mock.c, in a worker */
void	tm_init(const struct policy *);
void	tm_install(lua_State *, int);
void	tm_reset(void);
void	tm_begin(const char *, const char *, const char *);
void	tm_end(msgpack_sbuffer *);
void	tm_check(void);

/* tester_cov.c: executable lines of a source; in a worker, counting; in
 * the parent, merging and lcov. */
int	tcov_active(const char *, size_t, const char *, unsigned char **,
	    size_t *);
void	tcov_attach(struct lim *, const char *, const char *, const char *,
	    size_t);
void	tcov_note(const char *, const char *, const char *, size_t);
int	tcov_send(int, msgpack_sbuffer *);
void	tcov_merge(struct tst_covset *, const char *, const char *,
	    const uint64_t *, const unsigned char *, size_t);
void	tcov_counts(const struct tst_covset *, const struct tst_cov *,
	    size_t *, size_t *);
void	tcov_sort(struct tst_covset *);
int	tcov_write_lcov(const struct tst_covset *, const char *, char *,
	    size_t);
void	tcov_free(struct tst_covset *);

/* tester_msg.c: the messages above, in mirrored pairs. */
struct mpr;
const char *tmsg_status_name(enum tst_status);
int	tmsg_list_pack(msgpack_sbuffer *, const struct tst_test *, size_t);
int	tmsg_list_decode(struct mpr *, struct tst_test **, size_t *);
int	tmsg_load_error_pack(msgpack_sbuffer *, const char *);
int	tmsg_load_error_decode(struct mpr *, char **);
int	tmsg_begin_pack(msgpack_sbuffer *, size_t);
int	tmsg_begin_decode(struct mpr *, size_t *);
int	tmsg_result_pack(msgpack_sbuffer *, size_t, const struct tst_test *);
int	tmsg_result_decode(struct mpr *, size_t *, struct tst_test *);
int	tmsg_need_rule_pack(msgpack_sbuffer *, const char *);
int	tmsg_need_rule_decode(struct mpr *, char *, size_t);
int	tmsg_coverage_pack(msgpack_sbuffer *, const char *, const uint64_t *,
	    const unsigned char *, size_t);
int	tmsg_coverage_decode(struct mpr *, char *, size_t, uint64_t **,
	    unsigned char **, size_t *);
int	tmsg_done_pack(msgpack_sbuffer *);
int	tmsg_done_decode(struct mpr *);
int	tmsg_rule_pack(msgpack_sbuffer *, const char *, const char *, size_t);
int	tmsg_rule_decode(struct mpr *, char *, size_t, int *, const char **,
	    size_t *);
int	tmsg_run_pack(msgpack_sbuffer *, const size_t *, size_t);
int	tmsg_run_decode(struct mpr *, size_t **, size_t *);

/* tester_out.c: print the results; returns the exit status. */
int	tout_report(const struct tst_opts *, struct tst_file *, size_t,
	    struct tst_covset *, double);
void	tst_test_free(struct tst_test *);

#endif
