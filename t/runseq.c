/*
 * runseq.c: a test program: run several rules in order in ONE process,
 * through the path a daemon worker takes (the next sandbox is prepared
 * before the next request), printing one `--json` object per invocation.
 * Writer/reader pairs use it to show that nothing crosses invocations.
 */
#include <stdio.h>
#include <stdlib.h>

#include "limit.h"
#include "sandbox.h"
#include "report.h"
#include "runopt.h"

int
main(int argc, char **argv)
{
	struct runopt opt;
	struct inv_sandbox sb;

	if (sbx_init() < 0)
		return 2;
	if (runopt_parse(argc, argv, &opt) < 0)
		return runopt_report(&opt, argc, argv);
	if (inv_prepare(&sb) < 0)
		return 3;
	for (int i = optind; i < argc; i++) {
		struct inv_request req = { 0 };
		struct inv_outcome out;
		char *store[3] = { NULL, NULL, NULL }, *text;

		inv_outcome_init(&out);
		runopt_request(&opt, &req);
		if (runopt_rule(argv[i], &req, store, &out) == 0) {
			inv_run(&sb, &req, &out);
			inv_discard(&sb);
		}
		if (sb.L == NULL && inv_prepare(&sb) < 0)	/* ahead */
			return 3;
		text = report_json(&out);
		printf("%s\n", text != NULL ? text : "null");
		fflush(stdout);
		free(text);
		inv_outcome_free(&out);
		for (int k = 0; k < 3; k++)
			free(store[k]);
	}
	if (sb.L != NULL)
		lua_close(sb.L);
	runopt_free(&opt);
	return 0;
}
