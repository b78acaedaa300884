/*
 * http-probe.c: a test-only program for t/http.t. It runs the http.request
 * engine (http.c) on a libevent loop for calls described on its command
 * line, all started at once unless one waits for another, and prints each
 * outcome as a line of JSON when its callback runs. Uses http.c, libevent
 * and jansson (for the output).
 *
 *   http-probe [-f MS] CALL...
 *   http-probe -c URL...
 *
 * A CALL is one argument of space-separated key=value words; values are
 * percent-decoded (%0d is CR), so a word never holds a space itself:
 *   name=N method=M url=U body=B timeout=MS max=BYTES private=0|1
 *   header=NAME:VALUE (repeatable; split at the first raw colon)
 *   follow=none|all|private|deny|prefix:URL (the redirect check; all allows
 *     without private addresses, private and prefix allow them) redirects=N
 *   after=NAME (start when call NAME has ended)
 *   cancel=MS (http_cancel after MS; 0: right after http_start)
 * -f MS frees the engine after MS, whatever is still pending. -c prints
 * http_url_canonical's reading of each URL: {"in":...,"out":...} or
 * {"in":...,"refused":...}.
 * Lines: {"name":...,"error":"ok",...} per callback, {"name":...,
 * "cancelled":true} per cancel, {"freed":true}, and {"end":true,...} last.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "http.h"

#define PROBE_HEADERS	80

struct probe_call {
	char			*text;		/* the argument, decoded in place */
	const char		*name, *follow, *after;
	long			 cancel_ms;
	struct http_request	 req;
	struct http_header	 headers[PROBE_HEADERS];
	struct http_call	*call;
	struct event		*cancel_ev;
	uint64_t		 started;
	json_t			*asked;
	int			 state;		/* 0 waiting, 1 running, 2 ended */
};

static struct event_base *base;
static struct http_engine *eng;
static struct probe_call *calls;
static int ncalls, pending, callbacks;
static uint64_t t0;

static const char *const error_names[] = {
	[HTTP_OK] = "ok", [HTTP_DENIED] = "denied",
	[HTTP_BAD_REQUEST] = "bad_request", [HTTP_TIMEOUT] = "timeout",
	[HTTP_TOO_LARGE] = "too_large", [HTTP_FAILED] = "failed",
};

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode in place. */
static char *
decode(char *s)
{
	char *r = s, *w = s;

	while (*r != '\0') {
		if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
			*w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
			r += 3;
		} else
			*w++ = *r++;
	}
	*w = '\0';
	return s;
}

/* Text as JSON can carry it: anything but printable ASCII becomes '?'. */
static json_t *
jtext(const char *s, size_t n)
{
	char *t = malloc(n + 1);
	json_t *j;
	size_t i;

	if (t == NULL)
		return json_null();
	for (i = 0; i < n; i++)
		t[i] = (s[i] >= 0x20 && s[i] < 0x7f) || s[i] == '\n' ? s[i] : '?';
	j = json_stringn(t, n);
	free(t);
	return j;
}

static json_t *
jstr(const char *s)
{
	return s ? jtext(s, strlen(s)) : json_null();
}

static void
emit(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	printf("%s\n", s ? s : "{\"error\":\"json\"}");
	fflush(stdout);
	free(s);
	json_decref(o);
}

static int
redirect_ok(void *ud, const char *method, const char *url, int *priv)
{
	struct probe_call *pc = ud;
	char line[2048];
	size_t n;

	snprintf(line, sizeof line, "%s %s", method, url);
	json_array_append_new(pc->asked, jstr(line));
	if (strcmp(pc->follow, "all") == 0)
		return 1;
	if (strcmp(pc->follow, "private") == 0)
		return *priv = 1;
	if (strncmp(pc->follow, "prefix:", 7) == 0) {
		n = strlen(pc->follow + 7);
		return *priv = strncmp(url, pc->follow + 7, n) == 0;
	}
	return 0;
}

static json_t *
headers_json(const struct http_response *res)
{
	json_t *h = json_object();
	size_t i;

	for (i = 0; i < res->nheaders; i++)
		json_object_set_new(h, res->headers[i].name,
		    jstr(res->headers[i].value));
	return h;
}

static void start(struct probe_call *);

static void
ended(struct probe_call *pc)
{
	int i;

	pc->state = 2;
	if (pc->cancel_ev != NULL)
		event_del(pc->cancel_ev);
	for (i = 0; i < ncalls; i++)
		if (calls[i].state == 0 && calls[i].after != NULL &&
		    strcmp(calls[i].after, pc->name) == 0)
			start(&calls[i]);
	if (--pending == 0)
		event_base_loopbreak(base);
}

static void
on_done(void *ud, const struct http_response *res)
{
	struct probe_call *pc = ud;
	json_t *o = json_object();
	size_t shown = res->bodylen < 4096 ? res->bodylen : 4096;

	callbacks++;
	json_object_set_new(o, "name", jstr(pc->name));
	json_object_set_new(o, "error", json_string(error_names[res->error]));
	json_object_set_new(o, "message", jstr(res->message));
	json_object_set_new(o, "status", json_integer(res->status));
	json_object_set_new(o, "body", jtext(res->body, shown));
	json_object_set_new(o, "bodylen", json_integer((json_int_t)res->bodylen));
	json_object_set_new(o, "headers", headers_json(res));
	json_object_set_new(o, "final_url", jstr(res->final_url));
	json_object_set_new(o, "remote_ip", jstr(res->remote_ip));
	json_object_set_new(o, "sent", json_integer((json_int_t)res->bytes_sent));
	json_object_set_new(o, "received",
	    json_integer((json_int_t)res->bytes_received));
	json_object_set_new(o, "ms", json_integer((json_int_t)(now_ms() -
	    pc->started)));
	json_object_set_new(o, "asked", json_incref(pc->asked));
	json_object_set_new(o, "after_cancel", json_boolean(pc->state == 2));
	emit(o);
	pc->call = NULL;
	ended(pc);
}

static void
cancel(struct probe_call *pc)
{
	json_t *o = json_object();

	http_cancel(pc->call);
	pc->call = NULL;
	json_object_set_new(o, "name", jstr(pc->name));
	json_object_set_new(o, "cancelled", json_true());
	json_object_set_new(o, "ms", json_integer((json_int_t)(now_ms() -
	    pc->started)));
	emit(o);
	ended(pc);
}

static void
on_cancel(evutil_socket_t fd, short what, void *arg)
{
	cancel(arg);
}

static void
start(struct probe_call *pc)
{
	struct timeval tv = { pc->cancel_ms / 1000, (pc->cancel_ms % 1000) * 1000 };

	pc->state = 1;
	pc->started = now_ms();
	pc->call = http_start(eng, &pc->req, on_done, pc);
	if (pc->call == NULL) {
		json_t *o = json_object();

		json_object_set_new(o, "name", jstr(pc->name));
		json_object_set_new(o, "error", json_string("out of memory"));
		emit(o);
		ended(pc);
		return;
	}
	if (pc->cancel_ms == 0)
		cancel(pc);
	else if (pc->cancel_ms > 0) {
		pc->cancel_ev = evtimer_new(base, on_cancel, pc);
		evtimer_add(pc->cancel_ev, &tv);
	}
}

static int
add_header(struct probe_call *pc, char *v)
{
	char *colon = strchr(v, ':');
	struct http_header *h;

	if (colon == NULL || pc->req.nheaders >= PROBE_HEADERS)
		return -1;
	*colon = '\0';
	h = &pc->headers[pc->req.nheaders++];
	h->name = decode(v);
	h->value = decode(colon + 1);
	return 0;
}

static int
set_word(struct probe_call *pc, char *word)
{
	char *eq = strchr(word, '='), *v;
	struct http_request *r = &pc->req;

	if (eq == NULL)
		return -1;
	*eq = '\0';
	v = eq + 1;
	if (strcmp(word, "header") == 0)
		return add_header(pc, v);
	decode(v);
	if (strcmp(word, "name") == 0)
		pc->name = v;
	else if (strcmp(word, "method") == 0)
		r->method = v;
	else if (strcmp(word, "url") == 0)
		r->url = v;
	else if (strcmp(word, "body") == 0)
		r->body = v, r->bodylen = strlen(v);
	else if (strcmp(word, "timeout") == 0)
		r->timeout_ms = strtoull(v, NULL, 10);
	else if (strcmp(word, "max") == 0)
		r->max_response = strtoull(v, NULL, 10);
	else if (strcmp(word, "private") == 0)
		r->allow_private = atoi(v);
	else if (strcmp(word, "redirects") == 0)
		r->max_redirects = atoi(v);
	else if (strcmp(word, "follow") == 0)
		pc->follow = v;
	else if (strcmp(word, "after") == 0)
		pc->after = v;
	else if (strcmp(word, "cancel") == 0)
		pc->cancel_ms = atol(v);
	else
		return -1;
	return 0;
}

static int
parse_call(struct probe_call *pc, const char *arg, int i)
{
	static char names[64][16];
	char *save = NULL, *w;

	pc->text = strdup(arg);
	pc->asked = json_array();
	pc->cancel_ms = -1;
	pc->follow = "none";
	pc->req.method = "GET";
	pc->req.timeout_ms = 5000;
	pc->req.headers = pc->headers;
	snprintf(names[i % 64], sizeof names[0], "c%d", i);
	pc->name = names[i % 64];
	for (w = strtok_r(pc->text, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		if (set_word(pc, w) < 0) {
			fprintf(stderr, "http-probe: cannot read \"%s\"\n", w);
			return -1;
		}
	if (strcmp(pc->follow, "none") != 0) {
		pc->req.redirect_ok = redirect_ok;
		pc->req.ud = pc;
		if (strstr(arg, "redirects=") == NULL)
			pc->req.max_redirects = 5;
	}
	return 0;
}

static void
on_free(evutil_socket_t fd, short what, void *arg)
{
	json_t *o = json_object();

	http_engine_free(eng);
	eng = NULL;
	json_object_set_new(o, "freed", json_true());
	emit(o);
	event_base_loopbreak(base);
}

static void
run(long free_ms)
{
	struct timeval tv = { free_ms / 1000, (free_ms % 1000) * 1000 };
	struct event *f = NULL;
	int i;

	for (i = 0; i < ncalls; i++)
		if (calls[i].after == NULL)
			start(&calls[i]);
	if (free_ms >= 0) {
		f = evtimer_new(base, on_free, NULL);
		evtimer_add(f, &tv);
	}
	if (pending > 0)
		event_base_dispatch(base);
	if (f != NULL)
		event_free(f);
}

static void
cleanup(void)
{
	int i;

	http_engine_free(eng);
	for (i = 0; i < ncalls; i++) {
		if (calls[i].cancel_ev != NULL)
			event_free(calls[i].cancel_ev);
		json_decref(calls[i].asked);
		free(calls[i].text);
	}
	free(calls);
	event_base_free(base);
	libevent_global_shutdown();
}

static int
canonical(int argc, char **argv)
{
	char buf[HTTP_URL_MAX + 1];
	json_t *o;
	int i;

	for (i = 0; i < argc; i++) {
		o = json_object();
		json_object_set_new(o, "in", jstr(argv[i]));
		if (http_url_canonical(argv[i], buf, sizeof buf) == 0)
			json_object_set_new(o, "out", jstr(buf));
		else
			json_object_set_new(o, "refused", jstr(buf));
		emit(o);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	long free_ms = -1;
	char err[256] = "";
	json_t *o;
	int c, i;

	signal(SIGPIPE, SIG_IGN);
	alarm(60);
	while ((c = getopt(argc, argv, "cf:")) != -1)
		if (c == 'c')
			return canonical(argc - optind, argv + optind);
		else if (c == 'f')
			free_ms = atol(optarg);
		else
			return 2;
	ncalls = pending = argc - optind;
	if ((calls = calloc((size_t)ncalls + 1, sizeof *calls)) == NULL)
		return 2;
	for (i = 0; i < ncalls; i++)
		if (parse_call(&calls[i], argv[optind + i], i) < 0)
			return 2;
	base = event_base_new();
	if (base == NULL || (eng = http_engine_new(base, err, sizeof err)) == NULL) {
		fprintf(stderr, "http-probe: %s\n", err);
		return 2;
	}
	t0 = now_ms();
	run(free_ms);
	o = json_object();
	json_object_set_new(o, "end", json_true());
	json_object_set_new(o, "callbacks", json_integer(callbacks));
	json_object_set_new(o, "ms", json_integer((json_int_t)(now_ms() - t0)));
	emit(o);
	cleanup();
	return 0;
}
