/*
 * httpapi.c: the optional HTTP/JSON listener, on libevent's evhttp. One
 * table of routes:
 *   POST /v1/rules/{name}:invoke	{"input": …, "options": {…}} -> the
 *					answer, with a status by error kind
 *   GET  /v1/rules			the rules and their pools
 *   GET  /healthz			200 while serving, 503 when draining
 *   GET  /metrics			Prometheus text (metrics.c)
 * A listener bound off loopback requires "Authorization: Bearer TOKEN".
 * Invocations are jobs like msgpack-RPC's (job.c); their answers are
 * converted to JSON here. Uses jansson, jsonmp.c, invreq.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "httpapi.h"
#include "invreq.h"
#include "jsonmp.h"
#include "listen.h"
#include "log.h"
#include "master.h"

/* A connection, for its jobs to be let go when it closes. */
struct hconn {
	struct evhttp_connection *evcon;
	struct job_list		 jobs;
	TAILQ_ENTRY(hconn)	 entry;
};

static struct {
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	char			 token[LISTEN_TOKEN_MAX];
	TAILQ_HEAD(, hconn)	 conns;
	unsigned		 nconns;
} H = { .conns = TAILQ_HEAD_INITIALIZER(H.conns) };

/* HTTP statuses of the error kinds. */
static const int http_status_of[MB_KIND_COUNT] = {
	[MB_OK] = 200, [MB_NOT_FOUND] = 404, [MB_BAD_REQUEST] = 400,
	[MB_SYNTAX] = 422, [MB_RUNTIME] = 422, [MB_MEMORY] = 422,
	[MB_INSTRUCTIONS] = 422, [MB_TIMEOUT] = 504, [MB_KILLED] = 502,
	[MB_DENIED] = 403, [MB_OUTPUT] = 422, [MB_OVERLOADED] = 503,
	[MB_INTERNAL] = 500,
};

int
httpapi_status(enum mb_kind k)
{
	return (unsigned)k < MB_KIND_COUNT ? http_status_of[k] : 500;
}

static void
http_send_text(struct evhttp_request *req, int status, const char *type,
    const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

/* {"error": {"kind", "message"}} with the kind's status. */
static void
http_send_error(struct evhttp_request *req, enum mb_kind k, const char *msg)
{
	json_t *o = json_pack("{s:{s:s,s:s}}", "error", "kind", kind_name(k),
	    "message", msg);
	char *s = o != NULL ? jmp_dump(o) : NULL;

	json_decref(o);
	if (k == MB_OVERLOADED)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
	http_send_text(req, httpapi_status(k), "application/json",
	    s != NULL ? s : "{}", s != NULL ? strlen(s) : 2);
	free(s);
}

static struct hconn *
hconn_of(struct evhttp_connection *evcon)
{
	struct hconn *h;

	TAILQ_FOREACH(h, &H.conns, entry)
		if (h->evcon == evcon)
			return h;
	return NULL;
}

/* The connection is going (and its requests with it): the answers of its
 * jobs go nowhere, and those still queued are dropped. */
static void
hconn_closed(struct evhttp_connection *evcon, void *ud)
{
	struct hconn *h = ud;
	struct job *j, *next;

	(void)evcon;
	TAILQ_FOREACH_SAFE(j, &h->jobs, in_client, next) {
		TAILQ_REMOVE(&h->jobs, j, in_client);
		j->sink = NULL;
		if (j->queued) {
			pool_unqueue(j);
			job_free(j);
		}
	}
	TAILQ_REMOVE(&H.conns, h, entry);
	H.nconns--;
	free(h);
}

/* A connection seen for the first time is counted against
 * max-connections; past it the request is refused. */
static struct hconn *
hconn_track(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct hconn *h = hconn_of(evcon);

	if (h != NULL)
		return h;
	if (H.nconns >= M.cur->set.max_connections ||
	    (h = calloc(1, sizeof *h)) == NULL)
		return NULL;
	h->evcon = evcon;
	TAILQ_INIT(&h->jobs);
	TAILQ_INSERT_TAIL(&H.conns, h, entry);
	H.nconns++;
	evhttp_connection_set_closecb(evcon, hconn_closed, h);
	return h;
}

/* A job's error map {kind, message, id, usage, log} as the HTTP API's
 * error body: {"error": {kind, message}, "id", "usage", "log"}. */
static char *
http_error_json(const msgpack_sbuffer *sb, char *err, size_t len)
{
	json_t *o = jmp_tree(sb->data, sb->size, err, len);
	char *s;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "error", json_pack("{s:O,s:O}", "kind",
	    json_object_get(o, "kind"), "message",
	    json_object_get(o, "message")));
	json_object_del(o, "kind");
	json_object_del(o, "message");
	s = jmp_dump(o);
	json_decref(o);
	return s;
}

/* The sink of invocations asked for over HTTP: ud is the request, the
 * tag unused; hconn_closed detaches them. */
static void
http_sink_reply(struct job *j, enum mb_kind k, const char *msg, size_t len,
    const struct msg_result *m)
{
	struct evhttp_request *req = j->sink_ud;
	msgpack_sbuffer sb;
	char err[160], *s;

	msgpack_sbuffer_init(&sb);
	if (k == MB_OK)
		job_pack_result(&sb, j, m);
	else
		job_pack_error(&sb, j, k, msg, len, m);
	s = k == MB_OK ? jmp_to_json(sb.data, sb.size, err, sizeof err) :
	    http_error_json(&sb, err, sizeof err);
	msgpack_sbuffer_destroy(&sb);
	if (s == NULL) {
		http_send_error(req, MB_OUTPUT, err);
		return;
	}
	if (k == MB_OVERLOADED)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
	http_send_text(req, httpapi_status(k), "application/json", s,
	    strlen(s));
	free(s);
}

static void
http_sink_opened(struct job *j)
{
	struct hconn *h = j->sink_aux;

	TAILQ_INSERT_TAIL(&h->jobs, j, in_client);
}

static void
http_sink_closed(struct job *j)
{
	struct hconn *h = j->sink_aux;

	TAILQ_REMOVE(&h->jobs, j, in_client);
}

static const struct job_sink http_sink = {
	http_sink_opened, http_sink_reply, http_sink_closed
};

/* options: {name: a non-negative integer or a boolean} */
static int
http_read_options(json_t *opts, struct invopts *o, char *err, size_t len)
{
	const char *k;
	json_t *v;

	if (!json_is_object(opts)) {
		snprintf(err, len, "options must be an object");
		return -1;
	}
	json_object_foreach(opts, k, v) {
		uint64_t n;

		if (json_is_boolean(v))
			n = json_is_true(v);
		else if (json_is_integer(v) && json_integer_value(v) >= 0)
			n = (uint64_t)json_integer_value(v);
		else {
			snprintf(err, len, "option %s must be a non-negative "
			    "integer or a boolean", k);
			return -1;
		}
		if (invopts_set(o, k, strlen(k), n, err, len) < 0)
			return -1;
	}
	return 0;
}

/* The body {"input": any, "options": {...}}; either may be left out, and
 * an empty body is no input. */
static int
http_read_invoke(struct evhttp_request *req, struct invreq *q,
    msgpack_sbuffer *input, char *err, size_t len)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(b);
	json_error_t je;
	json_t *o, *in, *opts;
	int r = 0;

	if (n == 0)
		return 0;
	o = json_loadb((const char *)evbuffer_pullup(b, -1), n, 0, &je);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		snprintf(err, len, "the body must be a JSON object {\"input\": "
		    "..., \"options\": {...}}");
		return -1;
	}
	if ((in = json_object_get(o, "input")) != NULL &&
	    (r = jmp_from_tree(in, input, err, len)) == 0 && input->size > 0 &&
	    !json_is_null(in)) {
		q->input = input->data;
		q->input_len = input->size;
	}
	if (r == 0 && (opts = json_object_get(o, "options")) != NULL)
		r = http_read_options(opts, &q->opts, err, len);
	json_decref(o);
	return r;
}

static void
http_invoke(struct evhttp_request *req, const char *name, size_t n)
{
	struct hconn *h = hconn_track(req);
	msgpack_sbuffer input;
	struct invreq q;
	char err[256];

	memset(&q, 0, sizeof q);
	if (h == NULL) {
		http_send_error(req, MB_OVERLOADED, "too many connections");
		return;
	}
	if (!policy_rule_name_ok(name, n)) {
		http_send_error(req, MB_BAD_REQUEST, "the rule name must be path "
		    "segments of letters, digits, '_', '-' and '.'");
		return;
	}
	memcpy(q.rule, name, n);
	q.rule[n] = '\0';
	msgpack_sbuffer_init(&input);
	if (http_read_invoke(req, &q, &input, err, sizeof err) < 0) {
		http_send_error(req, MB_BAD_REQUEST, err);
		msgpack_sbuffer_destroy(&input);
		return;
	}
	if (job_submit(&q, &http_sink, req, h, 0) < 0)
		http_send_error(req, MB_INTERNAL, "out of memory");
	msgpack_sbuffer_destroy(&input);	/* the job copied it */
}

static void
http_rules(struct evhttp_request *req)
{
	const struct ruleset *rs = &M.cur->rules;
	json_t *a = json_array(), *top;
	char *s;

	for (size_t i = 0; i < rs->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:o}", "name",
		    rs->rules[i].name, "pool", rs->rules[i].pool != NULL ?
		    json_string(rs->rules[i].pool->name) : json_null()));
	top = json_pack("{s:o}", "rules", a);
	s = top != NULL ? jmp_dump(top) : NULL;
	json_decref(top);
	http_send_text(req, 200, "application/json", s != NULL ? s : "{}",
	    s != NULL ? strlen(s) : 2);
	free(s);
}

static void
http_healthz(struct evhttp_request *req)
{
	char body[96];
	int n = snprintf(body, sizeof body, "{\"status\":\"%s\",\"generation\":"
	    "%u}", M.draining ? "draining" : "ok", M.cur->id);

	http_send_text(req, M.draining ? 503 : 200, "application/json", body,
	    (size_t)n);
}

static void
http_metrics(struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	metrics_write(b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* "Authorization: Bearer TOKEN", when the listener has a token. */
static int
http_authorized(struct evhttp_request *req)
{
	const char *a;

	if (H.token[0] == '\0')
		return 1;
	a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (a == NULL || strncmp(a, "Bearer ", 7) != 0)
		return 0;
	return listen_token_ok(H.token, a + 7, strlen(a + 7));
}

#define HTTP_INVOKE_PREFIX	"/v1/rules/"
#define HTTP_INVOKE_SUFFIX	":invoke"

static void
http_route(struct evhttp_request *req, void *ud)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    req));
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	size_t n = path != NULL ? strlen(path) : 0, pl = strlen(HTTP_INVOKE_PREFIX),
	    sl = strlen(HTTP_INVOKE_SUFFIX);

	(void)ud;
	if (!http_authorized(req)) {
		static const char body[] = "{\"error\":{\"kind\":\"denied\","
		    "\"message\":\"this listener needs Authorization: Bearer "
		    "TOKEN\"}}";

		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		http_send_text(req, 401, "application/json", body,
		    sizeof body - 1);
		return;
	}
	if (path == NULL)
		http_send_error(req, MB_NOT_FOUND, "no such resource");
	else if (n > pl + sl && strncmp(path, HTTP_INVOKE_PREFIX, pl) == 0 &&
	    strcmp(path + n - sl, HTTP_INVOKE_SUFFIX) == 0) {
		if (m != EVHTTP_REQ_POST)
			http_send_error(req, MB_BAD_REQUEST, "invoke with POST");
		else if (M.draining)
			http_send_error(req, MB_OVERLOADED, "moonboxd is "
			    "shutting down; retry on another instance");
		else
			http_invoke(req, path + pl, n - pl - sl);
	} else if (m == EVHTTP_REQ_GET && strcmp(path, "/v1/rules") == 0)
		http_rules(req);
	else if (m == EVHTTP_REQ_GET && strcmp(path, "/healthz") == 0)
		http_healthz(req);
	else if (m == EVHTTP_REQ_GET && strcmp(path, "/metrics") == 0)
		http_metrics(req);
	else
		http_send_error(req, MB_NOT_FOUND, "no such resource");
}

int
httpapi_start(struct event_base *base, int fd, const char *token,
    const struct settings *s)
{
	struct timeval idle = { (time_t)(s->http_idle_us / 1000000),
	    (suseconds_t)(s->http_idle_us % 1000000) };

	if (evutil_make_socket_nonblocking(fd) < 0 ||
	    (H.http = evhttp_new(base)) == NULL ||
	    (H.bound = evhttp_accept_socket_with_handle(H.http, fd)) == NULL)
		return -1;
	snprintf(H.token, sizeof H.token, "%s", token != NULL ? token : "");
	evhttp_set_max_body_size(H.http, (ev_ssize_t)s->max_request);
	evhttp_set_max_headers_size(H.http, 64 << 10);
	evhttp_set_timeout_tv(H.http, &idle);
	evhttp_set_allowed_methods(H.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_default_content_type(H.http, "application/json");
	evhttp_set_gencb(H.http, http_route, NULL);
	return 0;
}

/* Draining: no new connections; those open are answered. */
void
httpapi_stop_listening(void)
{
	if (H.http != NULL && H.bound != NULL)
		evhttp_del_accept_socket(H.http, H.bound);
	H.bound = NULL;
}

void
httpapi_stop(void)
{
	if (H.http != NULL)
		evhttp_free(H.http);
	H.http = NULL;
}

unsigned
httpapi_connections(void)
{
	return H.nconns;
}
