/*
 * cmd_ctl.c: `moonbox ctl COMMAND`: the daemon's control socket. Each
 * command is a method and a printer for people; --json prints what the
 * daemon answered. Uses libmoonbox (client.c) and jansson.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "kind.h"
#include "moonbox.h"

#define CTL_DEFAULT_SOCKET	"/run/moonbox/control.sock"

static void
ctl_print_reload(json_t *v)
{
	printf("reloaded: generation %lld, %lld pools, %lld rules\n",
	    (long long)json_integer_value(json_object_get(v, "generation")),
	    (long long)json_integer_value(json_object_get(v, "pools")),
	    (long long)json_integer_value(json_object_get(v, "rules")));
}

static void
ctl_print_rules(json_t *v)
{
	size_t i;
	json_t *r;

	json_array_foreach(v, i, r) {
		json_t *pool = json_object_get(r, "pool");

		printf("%-40s %s\n", json_string_value(json_object_get(r, "name")),
		    json_is_string(pool) ? json_string_value(pool) : "(no pool)");
	}
}

static long long
ctl_int(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static long long
ctl_ok(json_t *o)
{
	return ctl_int(json_object_get(o, "outcomes"), "ok");
}

static double
ctl_ms(json_t *o, const char *q)
{
	return json_real_value(json_object_get(json_object_get(o,
	    "latency_ms"), q));
}

static void
ctl_print_stats(json_t *v)
{
	json_t *p, *w;
	size_t i;

	printf("moonboxd %s, pid %lld, up %lld s, generation %lld, %lld "
	    "connections, %lld requests\n",
	    json_string_value(json_object_get(v, "version")),
	    ctl_int(v, "pid"), ctl_int(v, "uptime_s"), ctl_int(v, "generation"),
	    ctl_int(v, "connections"), ctl_int(v, "requests"));
	printf("\n%-16s %5s %5s %5s %6s %10s %10s %9s %9s %6s %7s %8s\n",
	    "POOL", "IDLE", "BUSY", "START", "QUEUE", "INVOKED", "OK", "P50MS",
	    "P99MS", "KILLS", "CRASHES", "RESTARTS");
	json_array_foreach(json_object_get(v, "pools"), i, p) {
		w = json_object_get(p, "workers");
		printf("%-16s %5lld %5lld %5lld %6lld %10lld %10lld %9.3f %9.3f "
		    "%6lld %7lld %8lld\n",
		    json_string_value(json_object_get(p, "name")),
		    ctl_int(w, "idle"), ctl_int(w, "busy"),
		    ctl_int(w, "starting") + ctl_int(w, "spawning"),
		    ctl_int(p, "queue"), ctl_int(p, "invocations"), ctl_ok(p),
		    ctl_ms(p, "p50"), ctl_ms(p, "p99"), ctl_int(p, "kills"),
		    ctl_int(p, "crashes"), ctl_int(p, "restarts"));
	}
	printf("\n%-32s %10s %10s %9s %9s %6s\n", "RULE", "INVOKED", "OK",
	    "P50MS", "P99MS", "KILLS");
	json_array_foreach(json_object_get(v, "rules"), i, p)
		printf("%-32s %10lld %10lld %9.3f %9.3f %6lld\n",
		    json_string_value(json_object_get(p, "name")),
		    ctl_int(p, "invocations"), ctl_ok(p), ctl_ms(p, "p50"),
		    ctl_ms(p, "p99"), ctl_int(p, "kills"));
}

static void
ctl_print_workers(json_t *v)
{
	json_t *w, *rule;
	size_t i;

	printf("%-6s %-8s %-16s %-4s %-9s %8s %s\n", "ID", "PID", "POOL",
	    "GEN", "STATE", "INVOKED", "RULE");
	json_array_foreach(v, i, w) {
		rule = json_object_get(w, "rule");
		printf("%-6lld %-8lld %-16s %-4lld %-9s %8lld %s\n",
		    ctl_int(w, "id"), ctl_int(w, "pid"),
		    json_string_value(json_object_get(w, "pool")),
		    ctl_int(w, "generation"),
		    json_string_value(json_object_get(w, "state")),
		    ctl_int(w, "invocations"),
		    json_is_string(rule) ? json_string_value(rule) : "-");
	}
}

static void
ctl_print_pong(json_t *v)
{
	printf("%s\n", json_string_value(v));
}

static const struct {
	const char	*name;
	const char	*summary;
	void		(*print)(json_t *);
} ctl_commands[] = {
	{ "reload",	"read the configuration, policy and rules again",
	    ctl_print_reload },
	{ "stats",	"counters per pool and per rule",	ctl_print_stats },
	{ "workers",	"every worker and what it runs",	ctl_print_workers },
	{ "rules",	"the rules and their pools",		ctl_print_rules },
	{ "ping",	"check that the daemon answers",	ctl_print_pong },
};

static void
ctl_usage(FILE *f)
{
	fprintf(f, "usage: moonbox ctl [--socket PATH] [--json] COMMAND\n"
	    "  --socket PATH   the control socket (default $MOONBOX_CONTROL "
	    "or\n                  %s)\n"
	    "  --json          print the daemon's answer as JSON\n"
	    "  --help          print this help\ncommands:\n", CTL_DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++)
		fprintf(f, "  %-9s %s\n", ctl_commands[i].name,
		    ctl_commands[i].summary);
}

static int
ctl_run(const char *sock, size_t cmd, int json_out)
{
	struct mb_client *c = mb_connect(sock);
	struct mb_result r;
	enum mb_kind k;
	json_t *v;
	int status = 0;

	if (c == NULL) {
		fprintf(stderr, "moonbox: internal: cannot connect to the control "
		    "socket %s: %m; is moonboxd running? (--socket)\n", sock);
		return 3;
	}
	if (mb_call(c, ctl_commands[cmd].name, NULL, &r) < 0) {
		fprintf(stderr, "moonbox: internal: %s\n", mb_error(c));
		mb_close(c);
		return 3;
	}
	if (!r.ok) {
		fprintf(stderr, "moonbox: %s: %s\n", r.kind,
		    r.message != NULL ? r.message : "");
		status = kind_from_name(r.kind, &k) == 0 ? kind_exit_status(k) : 3;
	} else if (json_out)
		printf("%s\n", r.value_json != NULL ? r.value_json : "null");
	else if ((v = json_loads(r.value_json != NULL ? r.value_json : "null",
	    JSON_DECODE_ANY, NULL)) != NULL) {
		ctl_commands[cmd].print(v);
		json_decref(v);
	}
	mb_result_free(&r);
	mb_close(c);
	return status;
}

int
cmd_ctl(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *sock = NULL;
	int c, json_out = 0;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 's')
			sock = optarg;
		else if (c == 'j')
			json_out = 1;
		else if (c == 'h') {
			ctl_usage(stdout);
			return 0;
		} else {
			ctl_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		ctl_usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++)
		if (strcmp(argv[optind], ctl_commands[i].name) == 0)
			return ctl_run(call_socket(sock, "MOONBOX_CONTROL",
			    CTL_DEFAULT_SOCKET), i, json_out);
	fprintf(stderr, "moonbox: bad_request: unknown ctl command '%s'; see "
	    "moonbox ctl --help\n", argv[optind]);
	return 2;
}
