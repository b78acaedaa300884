/*
 * cmd_test.c: `moonbox test [OPTIONS] [PATH...]`: a rule's tests, each in
 * a fresh sandbox under the limits and policy of production. The trusted
 * parent: options, the policy, the test files (tester_find.c), the workers
 * (tester_run.c), the report (tester_out.c) and the lcov file
 * (tester_cov.c). Uses units.c, policy.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cmd.h"
#include "runopt.h"
#include "tester.h"
#include "units.h"

enum {
	TO_RULES = 256, TO_POLICY, TO_FILTER, TO_TAP, TO_JSON, TO_VERBOSE,
	TO_JOBS, TO_COVERAGE, TO_COVERAGE_FILE, TO_MEMORY, TO_INSTRUCTIONS,
	TO_TIMEOUT, TO_OUTPUT_LIMIT, TO_LOG_LIMIT, TO_TEST_MEMORY,
	TO_TEST_TIMEOUT, TO_HELP, TO_VERSION
};

static const struct option test_longopts[] = {
	{ "rules",		required_argument,	NULL, TO_RULES },
	{ "policy",		required_argument,	NULL, TO_POLICY },
	{ "filter",		required_argument,	NULL, TO_FILTER },
	{ "tap",		no_argument,		NULL, TO_TAP },
	{ "json",		no_argument,		NULL, TO_JSON },
	{ "verbose",		no_argument,		NULL, TO_VERBOSE },
	{ "jobs",		required_argument,	NULL, TO_JOBS },
	{ "coverage",		no_argument,		NULL, TO_COVERAGE },
	{ "coverage-file",	required_argument,	NULL, TO_COVERAGE_FILE },
	{ "memory",		required_argument,	NULL, TO_MEMORY },
	{ "instructions",	required_argument,	NULL, TO_INSTRUCTIONS },
	{ "timeout",		required_argument,	NULL, TO_TIMEOUT },
	{ "output-limit",	required_argument,	NULL, TO_OUTPUT_LIMIT },
	{ "log-limit",		required_argument,	NULL, TO_LOG_LIMIT },
	{ "test-memory",	required_argument,	NULL, TO_TEST_MEMORY },
	{ "test-timeout",	required_argument,	NULL, TO_TEST_TIMEOUT },
	{ "help",		no_argument,		NULL, TO_HELP },
	{ "version",		no_argument,		NULL, TO_VERSION },
	{ NULL, 0, NULL, 0 }
};

static void
test_usage(FILE *f)
{
	fputs("usage: moonbox test [OPTIONS] [PATH...]\n"
	    "  PATH                  rule files, test files (NAME_test.lua) or "
	    "directories\n"
	    "                        (default: .)\n"
	    "  --rules DIR           rule names are paths under DIR (default: the "
	    "directory\n"
	    "                        PATH a test file is found in; . for "
	    "files)\n"
	    "  --policy FILE         judge capability calls by this policy "
	    "(default: deny\n"
	    "                        every call, as a default-deny production "
	    "does)\n"
	    "  --filter PATTERN      run the tests whose full name holds PATTERN "
	    "or\n"
	    "                        matches it as a Lua pattern\n"
	    "  --tap                 print TAP version 13\n"
	    "  --json                print one JSON object\n"
	    "  --verbose             also print log lines and usage of each test\n"
	    "  --jobs N              run N test files at a time (default 1)\n"
	    "  --coverage            line coverage of the rule files: a table and "
	    "an lcov file\n"
	    "  --coverage-file FILE  the lcov file (default coverage.lcov); "
	    "implies --coverage\n"
	    "  --memory SIZE         memory limit of an invocation (default: its "
	    "pool's, 8M)\n"
	    "  --instructions N      instruction budget of an invocation (default: "
	    "its pool's,\n"
	    "                        none; instructions are counted anyway)\n"
	    "  --timeout TIME        wall-clock limit of an invocation (default: "
	    "its pool's,\n"
	    "                        1000ms)\n"
	    "  --output-limit SIZE   largest result of an invocation (default "
	    "64K)\n"
	    "  --log-limit SIZE      most log bytes an invocation keeps (default "
	    "64K)\n"
	    "  --test-memory SIZE    memory of each test's own sandbox (default "
	    "64M)\n"
	    "  --test-timeout TIME   wall-clock limit of each test (default 10s, or "
	    "five\n"
	    "                        invocation timeouts if more)\n"
	    "  --help                print this help\n"
	    "  --version             print the version\n", f);
}

static int
test_bad(const char *opt, const char *arg, const char *what)
{
	fprintf(stderr, "moonbox: bad_request: --%s %s: %s\n", opt, arg, what);
	return -1;
}

static int
test_limit(struct tst_opts *o, int c, const char *name, const char *arg)
{
	uint64_t v;

	switch (c) {
	case TO_MEMORY:
		o->given |= RUNOPT_GIVEN_MEMORY;
		if (units_size(arg, &o->limits.memory) < 0 ||
		    o->limits.memory == 0 || o->limits.memory > ((size_t)1 << 40))
			return test_bad(name, arg,
			    "expected a size like 16M, at most 1024G");
		return 0;
	case TO_INSTRUCTIONS:
		o->given |= RUNOPT_GIVEN_INSTRUCTIONS;
		if (units_count(arg, &o->limits.instructions) < 0)
			return test_bad(name, arg, "expected a whole number");
		return 0;
	case TO_TIMEOUT:
	case TO_TEST_TIMEOUT:
		if (units_time_us(arg, &v) < 0 || v == 0 || v > 3600000000ull)
			return test_bad(name, arg,
			    "expected a time like 200ms, at most 1 hour");
		if (c == TO_TIMEOUT) {
			o->given |= RUNOPT_GIVEN_TIMEOUT;
			o->limits.timeout_us = v;
		} else
			o->test_timeout_us = v;
		return 0;
	case TO_OUTPUT_LIMIT:
		o->given |= RUNOPT_GIVEN_OUTPUT;
		if (units_size(arg, &o->limits.output) < 0 ||
		    o->limits.output == 0)
			return test_bad(name, arg,
			    "expected a size like 64K, above 0");
		return 0;
	case TO_LOG_LIMIT:
		o->given |= RUNOPT_GIVEN_LOG;
		if (units_size(arg, &o->limits.log) < 0)
			return test_bad(name, arg, "expected a size like 64K");
		return 0;
	default:	/* TO_TEST_MEMORY */
		if (units_size(arg, &o->test_memory) < 0 ||
		    o->test_memory < (1u << 20) ||
		    o->test_memory > ((size_t)1 << 40))
			return test_bad(name, arg,
			    "expected a size like 64M, from 1M to 1024G");
		return 0;
	}
}

static int
test_option(struct tst_opts *o, int c, const char *name, const char *arg,
    int *flags)
{
	uint64_t n;

	switch (c) {
	case TO_RULES:		o->rules_dir = arg; return 0;
	case TO_POLICY:		o->policy_path = arg; return 0;
	case TO_FILTER:		o->filter = arg; return 0;
	case TO_TAP:		o->format = TST_TAP; return 0;
	case TO_JSON:		o->format = TST_JSON; return 0;
	case TO_VERBOSE:	o->verbose = 1; return 0;
	case TO_COVERAGE:	o->coverage = 1; return 0;
	case TO_COVERAGE_FILE:
		o->coverage = 1;
		o->coverage_file = arg;
		return 0;
	case TO_HELP:		*flags |= 1; return 0;
	case TO_VERSION:	*flags |= 2; return 0;
	case TO_JOBS:
		if (units_count(arg, &n) < 0 || n == 0 || n > 256)
			return test_bad(name, arg,
			    "expected a number of test files from 1 to 256");
		o->jobs = (unsigned)n;
		return 0;
	default:
		return test_limit(o, c, name, arg);
	}
}

static int
test_parse(int argc, char **argv, struct tst_opts *o, int *flags)
{
	int c, li;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", test_longopts, &li)) != -1) {
		if (c == ':') {
			fprintf(stderr, "moonbox: bad_request: %s needs a "
			    "value\n", argv[optind - 1]);
			return -1;
		}
		if (c == '?') {
			fprintf(stderr, "moonbox: bad_request: unknown option "
			    "%s; see moonbox test --help\n", argv[optind - 1]);
			return -1;
		}
		if (test_option(o, c, test_longopts[li].name, optarg, flags) < 0)
			return -1;
	}
	return 0;
}

/* Defaults that depend on other options. */
static int
test_settle(struct tst_opts *o)
{
	char err[1024];
	uint64_t most = o->limits.timeout_us;

	if (o->policy_path != NULL &&
	    policy_load(o->policy_path, &o->policy, err, sizeof err) < 0) {
		fprintf(stderr, "moonbox: bad_request: %s\n", err);
		return -1;
	}
	for (int i = 0; i < o->policy.npools; i++)
		if (!(o->given & RUNOPT_GIVEN_TIMEOUT) &&
		    o->policy.pools[i].limits.timeout_us > most)
			most = o->policy.pools[i].limits.timeout_us;
	if (o->test_timeout_us == 0) {
		o->test_timeout_us = TST_DEFAULT_TEST_TIMEOUT_US;
		if (most * TST_TIMEOUT_FACTOR > o->test_timeout_us)
			o->test_timeout_us = most * TST_TIMEOUT_FACTOR;
	}
	o->tty = isatty(STDOUT_FILENO);
	o->color = o->tty && getenv("NO_COLOR") == NULL &&
	    (getenv("TERM") == NULL || strcmp(getenv("TERM"), "dumb") != 0);
	return 0;
}

static double
test_secs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
test_main(struct tst_opts *o, int argc, char **argv)
{
	struct tst_covset cov = { NULL, 0, 0 };
	struct tst_file *files;
	struct timespec t0;
	size_t nfiles;
	char err[1024];
	int status;

	if (test_settle(o) < 0)
		return 2;
	if (tst_find(argc, argv, o, &files, &nfiles) < 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tst_run(o, files, nfiles, &cov);
	status = tout_report(o, files, nfiles, &cov, test_secs_since(&t0));
	if (status == 0 && o->filter != NULL) {
		size_t ran = 0;

		for (size_t i = 0; i < nfiles; i++)
			for (size_t k = 0; k < files[i].ntests; k++)
				ran += files[i].tests[k].selected;
		if (ran == 0) {
			fprintf(stderr, "moonbox: bad_request: no test matches "
			    "--filter %s\n", o->filter);
			status = 2;
		}
	}
	if (o->coverage && tcov_write_lcov(&cov, o->coverage_file, err,
	    sizeof err) < 0) {
		fprintf(stderr, "moonbox: internal: %s\n", err);
		status = 2;
	}
	tcov_free(&cov);
	tst_files_free(files, nfiles);
	return status;
}

int
cmd_test(int argc, char **argv)
{
	struct tst_opts o;
	int flags = 0, status;

	memset(&o, 0, sizeof o);
	lim_defaults(&o.limits);
	o.test_memory = TST_DEFAULT_TEST_MEMORY;
	o.jobs = 1;
	o.coverage_file = "coverage.lcov";
	if (test_parse(argc, argv, &o, &flags) < 0)
		return 2;
	if (flags & 1) {
		test_usage(stdout);
		return 0;
	}
	if (flags & 2) {
		printf("moonbox %s\n", PACKAGE_VERSION);
		return 0;
	}
	status = test_main(&o, argc - optind, argv + optind);
	policy_free(&o.policy);
	return status;
}
