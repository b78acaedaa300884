/*
 * cmd_check.c: `moonbox check [--rules DIR] [--policy FILE] [--strict]
 * [--json] [RULE.lua ...]`: compiles and reads each rule in a contained
 * child (lint.c) and prints what it found as compilers do,
 * file:line:col: warning|error: message. Exit 0 when there is no error
 * (warnings too with --strict), 1 when there is, 2 when the command is
 * wrong, 3 when a rule could not be checked. Uses lint.c, lint_policy.c,
 * policy.c and rules.c (the rules directory, as the daemon reads it).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "config.h"
#include "cmd.h"
#include "jsonmp.h"
#include "lint.h"
#include "policy.h"
#include "rules.h"
#include "utf8.h"

enum {
	CHECK_EXIT_CLEAN = 0, CHECK_EXIT_ERRORS = 1, CHECK_EXIT_USAGE = 2,
	CHECK_EXIT_FAULT = 3
};

struct check_opts {
	const char	*rules;		/* --rules DIR */
	const char	*policy;	/* --policy FILE */
	int		 strict, json, help, version;
};

struct check_run {
	struct check_opts	 o;
	struct policy		 pol;
	int			 have_policy;
	size_t			 errors, warnings;
	int			 fault;
	json_t			*list;		/* --json: the diagnostics */
};

static const struct option check_longopts[] = {
	{ "rules",	required_argument,	NULL, 'r' },
	{ "policy",	required_argument,	NULL, 'p' },
	{ "strict",	no_argument,		NULL, 's' },
	{ "json",	no_argument,		NULL, 'j' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void
check_usage(FILE *f)
{
	fputs("usage: moonbox check [--rules DIR] [--policy FILE] [--strict] "
	    "[--json] [RULE.lua ...]\n"
	    "  --rules DIR       rules are named by their path under DIR; with "
	    "no RULE,\n"
	    "                    check every rule in DIR\n"
	    "  --policy FILE     report capability calls FILE never allows\n"
	    "  --strict          warnings make the exit status 1 (also "
	    "-Werror)\n"
	    "  --json            print one JSON object with the diagnostics\n"
	    "  --help            print this help\n"
	    "  --version         print the version\n", f);
}

static int
check_bad(const char *what, const char *arg)
{
	fprintf(stderr, "moonbox: bad_request: %s%s; see moonbox check "
	    "--help\n", what, arg);
	return CHECK_EXIT_USAGE;
}

static int
check_parse(int argc, char **argv, struct check_opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":W:", check_longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->rules = optarg; break;
		case 'p': o->policy = optarg; break;
		case 's': o->strict = 1; break;
		case 'j': o->json = 1; break;
		case 'h': o->help = 1; break;
		case 'V': o->version = 1; break;
		case 'W':
			if (strcmp(optarg, "error") != 0)
				return check_bad("unknown option -W", optarg);
			o->strict = 1;
			break;
		case ':':
			return check_bad(argv[optind - 1], " needs a value");
		default:
			return check_bad("unknown option ", argv[optind - 1]);
		}
	}
	return 0;
}

/* --- naming rules ------------------------------------------------------------ */

/* The rule's name: its path under --rules DIR, else the path as given
 * (as moonbox run names it), without ".lua" and a leading "./". */
static int
check_name(const struct check_run *cr, const char *path, char *name,
    size_t len, char *err, size_t errlen)
{
	char dir[PATH_MAX], file[PATH_MAX];
	const char *p = path;
	size_t n;

	if (cr->o.rules != NULL) {
		if (realpath(cr->o.rules, dir) == NULL ||
		    realpath(path, file) == NULL) {
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		n = strlen(dir);
		if (strncmp(file, dir, n) != 0 || file[n] != '/') {
			snprintf(err, errlen, "not under the rules directory %s "
			    "(--rules)", cr->o.rules);
			return -1;
		}
		p = file + n + 1;
	}
	while (strncmp(p, "./", 2) == 0)
		p += 2;
	n = strlen(p);
	if (n > 4 && strcmp(p + n - 4, ".lua") == 0)
		n -= 4;
	snprintf(name, len, "%.*s", (int)n, p);
	return 0;
}

/* --- output -------------------------------------------------------------------- */

static const char *
check_severity(enum lint_severity s)
{
	return s == LINT_ERROR ? "error" : "warning";
}

/* Text for JSON: bytes that are not UTF-8 become '?'. */
static json_t *
check_jstr(const char *s)
{
	size_t n = strlen(s);
	char *copy;
	json_t *j;

	if (utf8_valid(s, n))
		return json_stringn(s, n);
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

static json_t *
check_diag_json(const char *path, const char *rule, const struct lint_diag *d)
{
	json_t *j = json_object();

	if (j == NULL)
		return NULL;
	if (json_object_set_new(j, "file", check_jstr(path)) < 0 ||
	    json_object_set_new(j, "rule", check_jstr(rule)) < 0 ||
	    json_object_set_new(j, "line", json_integer(d->line)) < 0 ||
	    json_object_set_new(j, "col", json_integer(d->col)) < 0 ||
	    json_object_set_new(j, "severity",
	    json_string(check_severity(d->severity))) < 0 ||
	    json_object_set_new(j, "code", json_string(d->code)) < 0 ||
	    json_object_set_new(j, "message", check_jstr(d->message)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void
check_print(struct check_run *cr, const char *path, const char *rule,
    const struct lint_diag *d)
{
	if (cr->o.json) {
		if (json_array_append_new(cr->list,
		    check_diag_json(path, rule, d)) < 0)
			cr->fault = 1;
		return;
	}
	if (d->line > 0)
		printf("%s:%d:%d: %s: %s\n", path, d->line, d->col,
		    check_severity(d->severity), d->message);
	else
		printf("%s: %s: %s\n", path, check_severity(d->severity),
		    d->message);
}

static void
check_report(struct check_run *cr, const char *path, const char *rule,
    struct lint_report *rep)
{
	lint_sort(rep);
	if (rep->dropped > 0)
		lint_add(rep, 0, 0, LINT_WARNING, "dropped", "%zu more "
		    "diagnostics were left out", rep->dropped);
	for (size_t i = 0; i < rep->ndiags; i++) {
		check_print(cr, path, rule, &rep->diags[i]);
		if (rep->diags[i].severity == LINT_ERROR)
			cr->errors++;
		else
			cr->warnings++;
	}
	cr->fault |= rep->failed;
}

/* --- checking ------------------------------------------------------------------ */

static void
check_source(struct check_run *cr, const char *path, const char *rule,
    const char *src, size_t len)
{
	struct lint_report rep = { 0 };
	int test = lint_is_test_file(path);

	/* A test file's calls are to mocks: the policy does not judge it. */
	lint_rule(src, len, test ? LINT_TEST : LINT_RULE, &rep);
	if (cr->have_policy && !rep.failed && !test) {
		if (!policy_rule_name_ok(rule, strlen(rule)))
			lint_add(&rep, 0, 0, LINT_ERROR, "rule-name", "'%s' is not "
			    "a rule name the policy can judge; give --rules DIR "
			    "(a rule's name is its path under DIR)", rule);
		else if (policy_pool_for(&cr->pol, rule) == NULL)
			lint_add(&rep, 0, 0, LINT_ERROR, "no-pool", "no pool of %s "
			    "runs rule %s", cr->o.policy, rule);
		else
			lint_policy(&cr->pol, cr->o.policy, rule, &rep);
	}
	check_report(cr, path, rule, &rep);
	lint_free(&rep);
}

static char *
check_slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;

	if (f == NULL || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
	} else if (st.st_size > (off_t)LINT_MAX_SOURCE) {
		snprintf(err, errlen, "larger than the 1 MiB a rule may have");
	} else if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
	} else if ((*len = fread(buf, 1, (size_t)st.st_size + 1, f)) >
	    (size_t)st.st_size || ferror(f)) {
		snprintf(err, errlen, "%s", ferror(f) ? strerror(errno) :
		    "the file grew while it was read");
		free(buf);
		buf = NULL;
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

static void
check_file(struct check_run *cr, const char *path)
{
	struct lint_report rep = { 0 };
	char rule[1024], err[512], *src;
	size_t len;

	if (check_name(cr, path, rule, sizeof rule, err, sizeof err) < 0 ||
	    (src = check_slurp(path, &len, err, sizeof err)) == NULL) {
		lint_add(&rep, 0, 0, LINT_ERROR, "unreadable", "%s", err);
		check_report(cr, path, path, &rep);
		lint_free(&rep);
		return;
	}
	check_source(cr, path, rule, src, len);
	free(src);
}

/* Every rule of the directory, as the daemon would load them. */
static int
check_dir(struct check_run *cr)
{
	struct ruleset rs;
	char err[1024], path[PATH_MAX + 300];

	if (ruleset_load(cr->o.rules, &cr->pol, &rs, err, sizeof err) < 0) {
		fprintf(stderr, "moonbox: bad_request: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < rs.n; i++) {
		snprintf(path, sizeof path, "%s/%s.lua", cr->o.rules,
		    rs.rules[i].name);
		check_source(cr, path, rs.rules[i].name, rs.rules[i].source,
		    rs.rules[i].len);
	}
	ruleset_free(&rs);
	return 0;
}

static int
check_status(const struct check_run *cr)
{
	if (cr->fault)
		return CHECK_EXIT_FAULT;
	if (cr->errors > 0 || (cr->o.strict && cr->warnings > 0))
		return CHECK_EXIT_ERRORS;
	return CHECK_EXIT_CLEAN;
}

static void
check_print_json(struct check_run *cr)
{
	json_t *top = json_pack("{sOsIsI}", "diagnostics", cr->list,
	    "errors", (json_int_t)cr->errors,
	    "warnings", (json_int_t)cr->warnings);
	char *text = top != NULL ? jmp_dump(top) : NULL;

	if (text == NULL) {
		fprintf(stderr, "moonbox: internal: out of memory\n");
		cr->fault = 1;
	} else
		printf("%s\n", text);
	free(text);
	json_decref(top);
}

static int
check_go(struct check_run *cr, int argc, char **argv)
{
	char err[1024];
	int r = 0;

	if (cr->o.policy != NULL) {
		if (policy_load(cr->o.policy, &cr->pol, err, sizeof err) < 0) {
			fprintf(stderr, "moonbox: bad_request: %s\n", err);
			return CHECK_EXIT_USAGE;
		}
		cr->have_policy = 1;
	}
	if (optind == argc)
		r = check_dir(cr);
	for (int i = optind; i < argc; i++)
		check_file(cr, argv[i]);
	if (r == 0 && cr->o.json)
		check_print_json(cr);
	if (cr->have_policy)
		policy_free(&cr->pol);
	return r < 0 ? CHECK_EXIT_USAGE : check_status(cr);
}

int
cmd_check(int argc, char **argv)
{
	struct check_run cr;
	int status;

	memset(&cr, 0, sizeof cr);
	if (check_parse(argc, argv, &cr.o) != 0)
		return CHECK_EXIT_USAGE;
	if (cr.o.help || cr.o.version) {
		if (cr.o.help)
			check_usage(stdout);
		else
			printf("moonbox %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (optind == argc && cr.o.rules == NULL) {
		check_usage(stderr);
		return CHECK_EXIT_USAGE;
	}
	if ((cr.list = json_array()) == NULL)
		return CHECK_EXIT_FAULT;
	status = check_go(&cr, argc, argv);
	json_decref(cr.list);
	return status;
}
