/*
 * cmd_replay.c: `moonbox replay FILE [--rule NEW.lua] [--secrets FILE]
 * [--json]`: runs a recording again in a contained worker with its input,
 * limits, seed and recorded capability replies, and says whether the
 * outcome is the same. Exit 0: the same; 1: it differs; 2: the command,
 * the recording or a file it names is wrong. Uses record.c, replay.c and
 * conf.c (the secrets file, in the daemon's syntax).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "config.h"
#include "cmd.h"
#include "conf.h"
#include "jsonmp.h"
#include "record.h"
#include "replay.h"
#include "report.h"

#define REPLAY_EXIT_SAME	0
#define REPLAY_EXIT_DIFFERS	1
#define REPLAY_EXIT_USAGE	2
#define REPLAY_MAX_SOURCE	(1u << 20)

struct replay_opts {
	const char	*rule;		/* --rule */
	const char	*secrets;	/* --secrets */
	int		 json, help, version;
};

static const struct option replay_longopts[] = {
	{ "rule",	required_argument,	NULL, 'r' },
	{ "secrets",	required_argument,	NULL, 's' },
	{ "json",	no_argument,		NULL, 'j' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void
replay_usage(FILE *f)
{
	fputs("usage: moonbox replay RECORDING [--rule FILE] [--secrets FILE] "
	    "[--json]\n"
	    "  --rule FILE       run this version of the rule instead of the "
	    "recorded one\n"
	    "  --secrets FILE    give the rule the values of redacted secrets "
	    "(secret NAME \"value\")\n"
	    "  --json            print one JSON object with the comparison\n"
	    "  --help            print this help\n"
	    "  --version         print the version\n", f);
}

static int
replay_bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "moonbox: bad_request: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return REPLAY_EXIT_USAGE;
}

static int
replay_parse(int argc, char **argv, struct replay_opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", replay_longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->rule = optarg; break;
		case 's': o->secrets = optarg; break;
		case 'j': o->json = 1; break;
		case 'h': o->help = 1; break;
		case 'V': o->version = 1; break;
		case ':':
			return replay_bad("%s needs a value%s", argv[optind - 1],
			    "");
		default:
			return replay_bad("unknown option %s; see moonbox "
			    "replay --help%s", argv[optind - 1], "");
		}
	}
	return 0;
}

/* --- the secrets file ------------------------------------------------------ */

static int
replay_secret(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct rec_secrets *s = ud;
	const char *name;

	if (conf_str(e, st, 0, &name) < 0)
		return -1;
	if (st->args[1].kind != CONF_STRING)
		return conf_fail_arg(e, st, 1, "a secret's value is a quoted "
		    "string");
	if (rec_secrets_add(s, name, st->args[1].text,
	    strlen(st->args[1].text)) < 0)
		return conf_fail(e, st->line, st->col, "more than %d secrets",
		    REC_MAX_SECRETS);
	return 0;
}

static const struct conf_key replay_secret_keys[] = {
	{ "secret",	2, 2, 0, replay_secret },
	{ NULL, 0, 0, 0, NULL }
};

/* The daemon's rules: readable by its owner only, who is root or us. */
static int
replay_secrets_load(const char *path, struct rec_secrets *s, char *err,
    size_t len)
{
	return conf_apply_private(path, "you", replay_secret_keys, s, err, len);
}

/* --- the new version of the rule ------------------------------------------- */

static char *
replay_read_rule(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(REPLAY_MAX_SOURCE + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	*len = fread(buf, 1, REPLAY_MAX_SOURCE + 1, f);
	if (ferror(f) || *len > REPLAY_MAX_SOURCE) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ?
		    strerror(errno) : "larger than the 1 MiB a rule may have");
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* --- output ------------------------------------------------------------------ */

static void
replay_print_text(const struct replay *r, int differs)
{
	if (!differs) {
		printf("same outcome (%s; %zu capability call%s as recorded)\n",
		    kind_name(r->rec->outcome.kind), r->made,
		    r->made == 1 ? "" : "s");
		return;
	}
	printf("outcome differs:\n");
	for (int i = 0; i < r->ndiffs; i++)
		printf("  %s\n", r->diffs[i].text != NULL ? r->diffs[i].text :
		    "(out of memory)");
	if (r->more > 0)
		printf("  (%d more differences)\n", r->more);
}

static json_t *
replay_diff_json(const struct replay_diff *d)
{
	json_t *j = json_pack("{ssss}", "what", d->what, "text",
	    d->text != NULL ? d->text : "");

	if (j != NULL && d->recorded != NULL)
		json_object_set(j, "recorded", d->recorded);
	if (j != NULL && d->now != NULL)
		json_object_set(j, "now", d->now);
	return j;
}

static int
replay_print_json(const struct replay *r, int differs)
{
	json_t *top = json_pack("{sbs{sIsI}si}", "same", !differs, "calls",
	    "recorded", (json_int_t)r->rec->ncalls, "made", (json_int_t)r->made,
	    "more", r->more);
	json_t *list = json_array();
	char *text;

	for (int i = 0; list != NULL && i < r->ndiffs; i++)
		json_array_append_new(list, replay_diff_json(&r->diffs[i]));
	if (top == NULL || list == NULL ||
	    json_object_set_new(top, "differences", list) < 0 ||
	    (text = jmp_dump(top)) == NULL) {
		json_decref(top);
		fprintf(stderr, "moonbox: internal: out of memory\n");
		return 3;
	}
	printf("%s\n", text);
	free(text);
	json_decref(top);
	return differs ? REPLAY_EXIT_DIFFERS : REPLAY_EXIT_SAME;
}

/* --- the command ------------------------------------------------------------- */

static int
replay_go(const struct replay_opts *o, const char *file)
{
	struct rec_secrets given = { .n = 0 };
	struct recording *rec = NULL;
	struct inv_outcome out;
	struct replay r;
	char err[1024], *src = NULL;
	size_t srclen = 0;
	int differs, status;

	if (rec_read(file, &rec, err, sizeof err) < 0 ||
	    (o->rule != NULL &&
	    (src = replay_read_rule(o->rule, &srclen, err, sizeof err)) == NULL) ||
	    (o->secrets != NULL &&
	    replay_secrets_load(o->secrets, &given, err, sizeof err) < 0)) {
		fprintf(stderr, "moonbox: bad_request: %s\n", err);
		rec_free(rec);
		rec_secrets_free(&given);
		free(src);
		return REPLAY_EXIT_USAGE;
	}
	if (!rec->has_seed)
		fprintf(stderr, "moonbox: %s has no seed: math.random gives "
		    "other numbers than it did\n", file);
	inv_outcome_init(&out);
	if (replay_init(&r, rec, &given) < 0)
		inv_fail(&out, MB_INTERNAL, "out of memory");
	else
		replay_run(&r, src, srclen, &out);
	differs = replay_compare(&r, &out) > 0;
	if (o->json)
		status = replay_print_json(&r, differs);
	else {
		replay_print_text(&r, differs);
		status = differs ? REPLAY_EXIT_DIFFERS : REPLAY_EXIT_SAME;
	}
	replay_free(&r);
	inv_outcome_free(&out);
	rec_free(rec);
	rec_secrets_free(&given);
	free(src);
	return status;
}

int
cmd_replay(int argc, char **argv)
{
	struct replay_opts o;

	if (replay_parse(argc, argv, &o) != 0)
		return REPLAY_EXIT_USAGE;
	if (o.help || o.version) {
		if (o.help)
			replay_usage(stdout);
		else
			printf("moonbox %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (optind != argc - 1) {
		replay_usage(stderr);
		return REPLAY_EXIT_USAGE;
	}
	return replay_go(&o, argv[optind]);
}
