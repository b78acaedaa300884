/*
 * cmd_call.c: `moonbox call RULE`: one invocation through a running
 * moonboxd, printed as `moonbox run` prints it. Uses libmoonbox
 * (client.c), runopt.c for the shared options, and jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "cmd.h"
#include "jsonmp.h"
#include "kind.h"
#include "listen.h"
#include "moonbox.h"
#include "report.h"
#include "runopt.h"

#define CALL_DEFAULT_SOCKET	"/run/moonbox/moonbox.sock"

static void
call_usage(FILE *f)
{
	fputs("usage: moonbox call RULE [--socket PATH] [--token-file FILE]\n"
	    "           [--input JSON | --input-file FILE]\n"
	    "           [--memory SIZE] [--instructions N] [--timeout TIME]\n"
	    "           [--output-limit SIZE] [--log-limit SIZE] [--json] "
	    "[--stats]\n"
	    "           [--record]\n"
	    "  --socket PATH         moonboxd's socket, or tcp:HOST:PORT (default\n"
	    "                        $MOONBOX_SOCKET or " CALL_DEFAULT_SOCKET ")\n"
	    "  --token-file FILE     present the token in FILE (default\n"
	    "                        $MOONBOX_TOKEN_FILE)\n"
	    "  --input JSON          the event, as JSON text (default: null)\n"
	    "  --input-file FILE     the event from a file, - for standard "
	    "input\n"
	    "  --memory SIZE         lower the pool's memory limit\n"
	    "  --instructions N      lower the pool's instruction budget\n"
	    "  --timeout TIME        lower the pool's deadline\n"
	    "  --output-limit SIZE   lower the pool's output limit\n"
	    "  --log-limit SIZE      lower the pool's log limit\n"
	    "  --json                print one JSON object with the outcome\n"
	    "  --stats               print the usage figures on stderr\n"
	    "  --record              have the daemon record the invocation\n"
	    "  --help                print this help\n", f);
}

const char *
call_socket(const char *given, const char *env, const char *fallback)
{
	const char *s;

	if (given != NULL)
		return given;
	if ((s = getenv(env)) != NULL && *s != '\0')
		return s;
	return fallback;
}

struct mb_client *
call_connect(const char *where, const char *token_file, int *status)
{
	char token[LISTEN_TOKEN_MAX], err[600];
	struct mb_client *c;

	if (token_file == NULL && (token_file = getenv("MOONBOX_TOKEN_FILE")) !=
	    NULL && *token_file == '\0')
		token_file = NULL;
	if (token_file != NULL &&
	    listen_token(token_file, token, sizeof token, err, sizeof err) < 0) {
		fprintf(stderr, "moonbox: bad_request: %s\n", err);
		*status = 2;
		return NULL;
	}
	if ((c = mb_connect(where)) == NULL) {
		fprintf(stderr, "moonbox: internal: cannot connect to moonboxd "
		    "at %s: %m; is it running? (--socket)\n", where);
		*status = 3;
		return NULL;
	}
	if (token_file != NULL && mb_auth(c, token) < 0) {
		fprintf(stderr, "moonbox: denied: %s\n", mb_error(c));
		mb_close(c);
		c = NULL;
		*status = 1;
	}
	explicit_bzero(token, sizeof token);
	return c;
}

/* Only the limits the user gave are sent; they lower the pool's. */
static void
call_options(const struct runopt *o, struct mb_options *mo)
{
	const struct lim_config *l = &o->limits;

	memset(mo, 0, sizeof *mo);
	if (o->given & RUNOPT_GIVEN_TIMEOUT)
		mo->deadline_ms = (l->timeout_us + 999) / 1000;
	if (o->given & RUNOPT_GIVEN_MEMORY)
		mo->memory = l->memory;
	if (o->given & RUNOPT_GIVEN_INSTRUCTIONS)
		mo->instructions = l->instructions;
	if (o->given & RUNOPT_GIVEN_OUTPUT)
		mo->output = l->output;
	if (o->given & RUNOPT_GIVEN_LOG)
		mo->log = l->log;
	mo->record = o->record;
}

static json_t *
call_usage_json(const struct mb_result *r)
{
	return json_pack("{s:o,s:I,s:o,s:o,s:o,s:I,s:I}",
	    "instructions", r->usage.counted ?
	    json_integer((json_int_t)r->usage.instructions) : json_null(),
	    "memory", (json_int_t)r->usage.memory,
	    "cpu_ms", report_ms(r->usage.cpu_ms),
	    "wall_ms", report_ms(r->usage.wall_ms),
	    "queue_ms", report_ms(r->usage.queue_ms),
	    "calls", (json_int_t)r->usage.calls,
	    "log_dropped", (json_int_t)r->usage.log_dropped);
}

/* The --json object of moonbox run, plus the invocation id; the value is
 * spliced in as the daemon's text. */
static void
call_print_json(const struct mb_result *r)
{
	json_t *rest = json_object(), *log = json_array();
	char *text;

	if (!r->ok)
		json_object_set_new(rest, "error", json_pack("{s:s,s:s}",
		    "kind", r->kind, "message", r->message ? r->message : ""));
	json_object_set_new(rest, "id", json_string(r->id ? r->id : ""));
	json_object_set_new(rest, "usage", call_usage_json(r));
	for (size_t i = 0; i < r->nlog; i++)
		json_array_append_new(log, json_string(r->log[i]));
	json_object_set_new(rest, "log", log);
	text = jmp_dump(rest);
	json_decref(rest);
	if (text == NULL) {
		printf("null\n");
		return;
	}
	if (r->ok)
		printf("{\"ok\":true,\"result\":%s,%s\n", r->value_json != NULL ?
		    r->value_json : "null", text + 1);
	else
		printf("{\"ok\":false,%s\n", text + 1);
	free(text);
}

static int
call_report(const struct mb_result *r, const struct runopt *o)
{
	enum mb_kind k = MB_OK;

	if (!r->ok && kind_from_name(r->kind, &k) < 0)
		k = MB_INTERNAL;
	if (o->json) {
		call_print_json(r);
		return kind_exit_status(k);
	}
	for (size_t i = 0; i < r->nlog; i++)
		fprintf(stderr, "%s\n", r->log[i]);
	if (r->ok)
		printf("%s\n", r->value_json != NULL ? r->value_json : "null");
	else
		fprintf(stderr, "moonbox: %s: %s\n", r->kind,
		    r->message != NULL ? r->message : "");
	if (o->stats) {
		char ins[32] = "-";

		if (r->usage.counted)
			snprintf(ins, sizeof ins, "%llu",
			    (unsigned long long)r->usage.instructions);
		fprintf(stderr, "moonbox: usage: instructions=%s memory=%llu "
		    "cpu=%.3fms wall=%.3fms queue=%.3fms\n", ins,
		    (unsigned long long)r->usage.memory, r->usage.cpu_ms,
		    r->usage.wall_ms, r->usage.queue_ms);
	}
	return kind_exit_status(k);
}

int
cmd_call(int argc, char **argv)
{
	struct runopt opt;
	struct mb_options mo;
	struct mb_result res;
	struct mb_client *c;
	const char *sock;
	int status;

	if (runopt_parse(argc, argv, &opt) < 0) {
		status = runopt_report(&opt, argc, argv);
		runopt_free(&opt);
		return status;
	}
	if (opt.version) {
		printf("moonbox %s\n", PACKAGE_VERSION);
		runopt_free(&opt);
		return 0;
	}
	if (opt.help || optind != argc - 1) {
		call_usage(opt.help ? stdout : stderr);
		runopt_free(&opt);
		return opt.help ? 0 : 2;
	}
	sock = call_socket(opt.socket, "MOONBOX_SOCKET", CALL_DEFAULT_SOCKET);
	call_options(&opt, &mo);
	if ((c = call_connect(sock, opt.token_file, &status)) == NULL) {
		runopt_free(&opt);
		return status;
	}
	if (mb_invoke_msgpack(c, argv[optind], opt.input.data, opt.input.size,
	    &mo, &res) < 0) {
		fprintf(stderr, "moonbox: internal: %s\n", mb_error(c));
		status = 3;
	} else {
		status = call_report(&res, &opt);
		mb_result_free(&res);
	}
	mb_close(c);
	runopt_free(&opt);
	return status;
}
