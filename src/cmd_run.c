/*
 * cmd_run.c: `moonbox run RULE.lua`: one invocation in a fresh contained
 * worker process, the daemon's worker code and limits. Uses runopt.c,
 * runner.c and report.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "cmd.h"
#include "report.h"
#include "runner.h"
#include "runopt.h"

/* Print the outcome as the options ask; return the exit status. */
static int
run_report(struct inv_outcome *o, const struct runopt *opt)
{
	char *text;

	if (opt->json) {
		if ((text = report_json(o)) == NULL) {
			fprintf(stderr, "moonbox: internal: out of memory\n");
			return 3;
		}
		printf("%s\n", text);
		free(text);
		return kind_exit_status(o->kind);
	}
	report_log(stderr, o);
	text = o->kind == MB_OK ? report_result(o) : NULL;
	if (text != NULL)
		printf("%s\n", text);
	else
		fprintf(stderr, "moonbox: %s: %s\n", kind_name(o->kind),
		    o->message);
	free(text);
	if (opt->stats)
		report_stats(stderr, o);
	return kind_exit_status(o->kind);
}

int
cmd_run(int argc, char **argv)
{
	struct runopt opt;
	struct inv_request req = { 0 };
	struct inv_outcome out;
	char *store[3] = { NULL, NULL, NULL };
	int status;

	if (runopt_parse(argc, argv, &opt) < 0) {
		status = runopt_report(&opt, argc, argv);
		runopt_free(&opt);
		return status;
	}
	if (opt.help || opt.version) {
		if (opt.help)
			runopt_usage(stdout);
		else
			printf("moonbox %s\n", PACKAGE_VERSION);
		runopt_free(&opt);
		return 0;
	}
	if (opt.socket != NULL || opt.token_file != NULL || opt.record) {
		fprintf(stderr, "moonbox: bad_request: --socket, --token-file "
		    "and --record are options of moonbox call; run executes the "
		    "rule here\n");
		runopt_free(&opt);
		return 2;
	}
	if (optind != argc - 1) {
		runopt_usage(stderr);
		runopt_free(&opt);
		return 2;
	}
	inv_outcome_init(&out);
	runopt_request(&opt, &req);
	if (runopt_rule(argv[optind], &req, store, &out) == 0)
		runner_run(&req, &out);
	status = run_report(&out, &opt);
	inv_outcome_free(&out);
	for (int i = 0; i < 3; i++)
		free(store[i]);
	runopt_free(&opt);
	return status;
}
