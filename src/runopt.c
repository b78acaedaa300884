/*
 * runopt.c: getopt_long over the run options; reading a rule file and its
 * JSON input into a request. Uses units.c and jsonmp.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "jsonmp.h"
#include "report.h"
#include "runopt.h"
#include "units.h"

#define RUNOPT_MAX_SOURCE	(1u << 20)	/* a rule file */
#define RUNOPT_MAX_INPUT	(16u << 20)	/* an input document */
/* limit.c adds its reserve for error messages to the memory limit: keep the
 * sum far from SIZE_MAX. 1 TiB is more than any rule gets. */
#define RUNOPT_MAX_MEMORY	((size_t)1 << 40)

enum {
	OPT_INPUT = 'i', OPT_INPUT_FILE = 'f', OPT_MEMORY = 'm',
	OPT_INSTRUCTIONS = 'n', OPT_TIMEOUT = 't', OPT_JSON = 'j',
	OPT_STATS = 's', OPT_HELP = 'h', OPT_VERSION = 'V',
	OPT_OUTPUT_LIMIT = 256, OPT_LOG_LIMIT, OPT_SOCKET, OPT_TOKEN_FILE,
	OPT_RECORD
};

static const struct option runopt_longopts[] = {
	{ "input",		required_argument,	NULL, OPT_INPUT },
	{ "input-file",		required_argument,	NULL, OPT_INPUT_FILE },
	{ "memory",		required_argument,	NULL, OPT_MEMORY },
	{ "instructions",	required_argument,	NULL, OPT_INSTRUCTIONS },
	{ "timeout",		required_argument,	NULL, OPT_TIMEOUT },
	{ "output-limit",	required_argument,	NULL, OPT_OUTPUT_LIMIT },
	{ "log-limit",		required_argument,	NULL, OPT_LOG_LIMIT },
	{ "json",		no_argument,		NULL, OPT_JSON },
	{ "stats",		no_argument,		NULL, OPT_STATS },
	{ "socket",		required_argument,	NULL, OPT_SOCKET },
	{ "token-file",		required_argument,	NULL, OPT_TOKEN_FILE },
	{ "record",		no_argument,		NULL, OPT_RECORD },
	{ "help",		no_argument,		NULL, OPT_HELP },
	{ "version",		no_argument,		NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

void
runopt_usage(FILE *f)
{
	fputs("usage: moonbox run RULE.lua [--input JSON | --input-file FILE]\n"
	    "           [--memory SIZE] [--instructions N] [--timeout TIME]\n"
	    "           [--output-limit SIZE] [--log-limit SIZE] [--json] [--stats]\n"
	    "  --input JSON          the event, as JSON text (default: null)\n"
	    "  --input-file FILE     the event from a file, - for standard input\n"
	    "  --memory SIZE         memory limit (default 8M)\n"
	    "  --instructions N      instruction budget, 0 for none (default 0)\n"
	    "  --timeout TIME        wall-clock limit (default 1000ms)\n"
	    "  --output-limit SIZE   largest result (default 64K)\n"
	    "  --log-limit SIZE      most log bytes kept (default 64K)\n"
	    "  --json                print one JSON object with the outcome\n"
	    "  --stats               print the usage figures on stderr\n"
	    "  --help                print this help\n"
	    "  --version             print the version\n", f);
}

static char *
runopt_slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int nomem = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			char *p;

			cap = cap ? cap * 2 : 4096;
			if (cap > max + 1)
				cap = max + 1;
			if ((p = realloc(buf, cap + 1)) == NULL) {
				nomem = 1;	/* not a short file */
				break;
			}
			buf = p;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0 || n > max)
			break;
	}
	if (ferror(f) || n > max || nomem) {
		int e = n > max ? EFBIG : nomem ? ENOMEM : errno ? errno : EIO;

		free(buf);
		buf = NULL;
		errno = e;
	} else {
		buf[n] = '\0';
		*len = n;
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

/* Keep the first error for runopt_report: printed as text, or inside the
 * --json object when that was asked for. */
static int
runopt_err(struct runopt *o, const char *fmt, ...)
{
	va_list ap;

	if (o->error[0] != '\0')
		return -1;
	va_start(ap, fmt);
	vsnprintf(o->error, sizeof o->error, fmt, ap);
	va_end(ap);
	return -1;
}

static int
runopt_bad(struct runopt *o, const char *opt, const char *arg,
    const char *what)
{
	return runopt_err(o, "--%s %s: %s", opt, arg, what);
}

static int
runopt_input_json(struct runopt *o, const char *text, size_t n)
{
	char err[256];

	msgpack_sbuffer_clear(&o->input);
	if (jmp_from_json(text, n, &o->input, err, sizeof err) < 0) {
		return runopt_err(o, "input is not valid JSON: %s", err);
	}
	return 0;
}

static int
runopt_one(struct runopt *o, int c, const char *name, const char *arg)
{
	uint64_t v;
	size_t n;
	char *text;

	switch (c) {
	case OPT_INPUT:
		return runopt_input_json(o, arg, strlen(arg));
	case OPT_INPUT_FILE:
		if ((text = runopt_slurp(arg, RUNOPT_MAX_INPUT, &n)) == NULL)
			return runopt_bad(o, name, arg, strerror(errno));
		c = runopt_input_json(o, text, n);
		free(text);
		return c;
	case OPT_MEMORY:
		o->given |= RUNOPT_GIVEN_MEMORY;
		if (units_size(arg, &o->limits.memory) < 0 ||
		    o->limits.memory == 0 || o->limits.memory > RUNOPT_MAX_MEMORY)
			return runopt_bad(o, name, arg,
			    "expected a size like 16M, at most 1024G");
		return 0;
	case OPT_INSTRUCTIONS:
		o->given |= RUNOPT_GIVEN_INSTRUCTIONS;
		if (units_count(arg, &o->limits.instructions) < 0)
			return runopt_bad(o, name, arg, "expected a whole number");
		return 0;
	case OPT_TIMEOUT:
		o->given |= RUNOPT_GIVEN_TIMEOUT;
		if (units_time_us(arg, &v) < 0 || v == 0 || v > 3600000000ull)
			return runopt_bad(o, name, arg,
			    "expected a time like 200ms, at most 1 hour");
		o->limits.timeout_us = v;
		return 0;
	case OPT_OUTPUT_LIMIT:
		o->given |= RUNOPT_GIVEN_OUTPUT;
		/* 0 would mean no limit to conv.c: no result is 0 bytes. */
		if (units_size(arg, &o->limits.output) < 0 ||
		    o->limits.output == 0)
			return runopt_bad(o, name, arg,
			    "expected a size like 64K, above 0");
		return 0;
	case OPT_LOG_LIMIT:
		o->given |= RUNOPT_GIVEN_LOG;
		if (units_size(arg, &o->limits.log) < 0)
			return runopt_bad(o, name, arg, "expected a size like 64K");
		return 0;
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_STATS:
		o->stats = 1;
		return 0;
	case OPT_HELP:
		o->help = 1;
		return 0;
	case OPT_SOCKET:
		o->socket = arg;
		return 0;
	case OPT_TOKEN_FILE:
		o->token_file = arg;
		return 0;
	case OPT_RECORD:
		o->record = 1;
		return 0;
	case OPT_VERSION:
		o->version = 1;
		return 0;
	default:
		return runopt_err(o, "unknown option");
	}
}

static const struct option *
runopt_by_val(int val)
{
	for (const struct option *p = runopt_longopts; p->name != NULL; p++)
		if (p->val == val)
			return p;
	return NULL;
}

/* getopt_long's '?': a long option unknown or ambiguous (optopt 0), one
 * given a value it takes none (optopt its code, argv[optind - 1] its
 * --name=value), or a short option (none exist; optopt the letter, and
 * argv[optind - 1] is not its word inside a cluster). Name what was typed. */
static int
runopt_unknown(struct runopt *o, char **argv)
{
	const char *arg = argv[optind - 1];
	const struct option *lo = optopt != 0 ? runopt_by_val(optopt) : NULL;
	size_t n = strcspn(arg, "=");

	if (lo != NULL && strncmp(arg, "--", 2) == 0 && arg[n] == '=' &&
	    strncmp(lo->name, arg + 2, n - 2) == 0)
		return runopt_err(o, "--%s takes no value", lo->name);
	if (optopt != 0)
		return runopt_err(o, "unknown option -%c; see moonbox %s "
		    "--help", optopt, argv[0]);
	return runopt_err(o, "unknown option %s; see moonbox %s --help", arg,
	    argv[0]);
}

int
runopt_parse(int argc, char **argv, struct runopt *o)
{
	int c, li;

	memset(o, 0, sizeof *o);
	lim_defaults(&o->limits);
	msgpack_sbuffer_init(&o->input);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", runopt_longopts, &li)) != -1) {
		const char *name = c == '?' || c == ':' ? "" :
		    runopt_longopts[li].name;

		if (c == ':')
			return runopt_err(o, "%s needs a value",
			    argv[optind - 1]);
		if (c == '?')
			return runopt_unknown(o, argv);
		if (runopt_one(o, c, name, optarg) < 0)
			return -1;
	}
	return 0;
}

/* An option error, as text on stderr, or as the --json object on stdout
 * if --json is among the arguments. Returns the exit status. */
int
runopt_report(const struct runopt *o, int argc, char **argv)
{
	int json = 0;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		json |= strcmp(argv[i], "--json") == 0;
	if (!json) {
		fprintf(stderr, "moonbox: bad_request: %s\n", o->error);
		return kind_exit_status(MB_BAD_REQUEST);
	}
	{
		struct inv_outcome out;
		char *text;

		inv_outcome_init(&out);
		inv_fail(&out, MB_BAD_REQUEST, "%s", o->error);
		text = report_json(&out);
		printf("%s\n", text != NULL ? text : "null");
		free(text);
		inv_outcome_free(&out);
	}
	return kind_exit_status(MB_BAD_REQUEST);
}

void
runopt_free(struct runopt *o)
{
	msgpack_sbuffer_destroy(&o->input);
}

static void
runopt_new_id(char *id, size_t len)
{
	unsigned char r[8] = { 0 };

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		memset(r, 0, sizeof r);
	for (size_t i = 0; i < sizeof r && 2 * i + 2 < len; i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
}

int
runopt_rule(const char *path, struct inv_request *req, char **store,
    struct inv_outcome *out)
{
	static char id[17];
	size_t n, plen = strlen(path);
	char *src, *name, *chunk;

	if ((src = runopt_slurp(path, RUNOPT_MAX_SOURCE, &n)) == NULL) {
		if (errno == ENOENT)
			inv_fail(out, MB_NOT_FOUND, "%s: no such rule file", path);
		else if (errno == EFBIG)
			inv_fail(out, MB_BAD_REQUEST, "%s: larger than the %u "
			    "bytes a rule may have", path, RUNOPT_MAX_SOURCE);
		else
			inv_fail(out, MB_BAD_REQUEST, "%s: %s", path,
			    strerror(errno));
		return -1;
	}
	name = strdup(path);
	chunk = malloc(plen + 2);
	if (name == NULL || chunk == NULL) {
		free(src), free(name), free(chunk);
		inv_fail(out, MB_INTERNAL, "out of memory");
		return -1;
	}
	if (plen > 4 && strcmp(name + plen - 4, ".lua") == 0)
		name[plen - 4] = '\0';
	snprintf(chunk, plen + 2, "@%s", path);
	runopt_new_id(id, sizeof id);
	req->rule = name;
	req->chunkname = chunk;
	req->source = src;
	req->source_len = n;
	req->id = id;
	store[0] = src, store[1] = name, store[2] = chunk;
	return 0;
}

void
runopt_request(struct runopt *o, struct inv_request *req)
{
	req->limits = o->limits;
	req->input = o->input.size > 0 ? o->input.data : NULL;
	req->input_len = o->input.size;
}
