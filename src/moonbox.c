/*
 * moonbox.c: the moonbox(1) command: finds the command in one table and runs
 * it. Uses cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cmd.h"
#include "limit.h"
#include "sandbox.h"

static const struct cmd_entry cmd_table[] = {
	{ "run",	"run a rule once on an input",	cmd_run },
	{ "test",	"run the tests of rules",	cmd_test },
	{ "call",	"invoke a rule through a running moonboxd", cmd_call },
	{ "ctl",	"control a running moonboxd",	cmd_ctl },
	{ "policy",	"check a policy file, or explain a decision", cmd_policy },
	{ "check",	"compile and lint rules, against a policy too",
	    cmd_check },
	{ "replay",	"run a recorded invocation again and compare",
	    cmd_replay },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: moonbox COMMAND [OPTIONS]\n"
	    "       moonbox --help | --version\ncommands:\n");
	for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
		fprintf(f, "  %-8s %s\n", cmd_table[i].name,
		    cmd_table[i].summary);
	fprintf(f, "see moonbox(1) and moonbox COMMAND --help\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("moonbox %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (sbx_init() < 0) {
		fprintf(stderr, "moonbox: internal: cannot set up the limits\n");
		return 3;
	}
	for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
		if (strcmp(argv[1], cmd_table[i].name) == 0)
			return cmd_table[i].exec(argc - 1, argv + 1);
	fprintf(stderr, "moonbox: bad_request: unknown command '%s'; "
	    "see moonbox --help\n", argv[1]);
	return 2;
}
