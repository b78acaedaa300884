/*
 * rpc.c: msgpack-RPC connections of the master. Each message is read
 * strictly (mpr.c) as [0, msgid, method, params]; a request that cannot
 * even be read that far closes its connection, since there is no msgid to
 * answer; past that, every fault is an error reply. Methods come from one
 * table with the sockets they are permitted on. Limits per connection:
 * the size of one request (the link's cap), requests in flight (reading
 * pauses past it), and replies the client has not read (past it the
 * client is too slow and is disconnected). Uses link.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "invreq.h"
#include "listen.h"
#include "log.h"
#include "master.h"
#include "rpc.h"

#define RPC_METHOD_MAX	64

struct client {
	struct link		*link;
	enum rpc_socket		 socket;
	const char		*token;		/* to present; NULL: none */
	int			 authed;
	unsigned		 inflight;
	struct job_list		 jobs;
	int			 eof;
	int			 protocol_error;	/* counted already */
	TAILQ_ENTRY(client)	 entry;
};

struct listener {
	struct event		*ev;
	int			 fd;
	enum rpc_socket		 socket;
	char			 token[LISTEN_TOKEN_MAX];	/* "": none */
};

static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
static unsigned nclients;
static struct listener listeners[3];
static int nlisteners;

static void method_auth(struct rpc_call *);

static const struct rpc_method methods[] = {
	{ "auth",	RPC_CLIENT | RPC_CONTROL,	method_auth },
	{ "invoke",	RPC_CLIENT | RPC_CONTROL,	method_invoke },
	{ "ping",	RPC_CLIENT | RPC_CONTROL,	method_ping },
	{ "rules",	RPC_CLIENT | RPC_CONTROL,	method_rules },
	{ "reload",	RPC_CONTROL,			method_reload },
	{ "stats",	RPC_CONTROL,			method_stats },
	{ "workers",	RPC_CONTROL,			method_workers },
};

void
rpc_pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void
rpc_send(struct client *c, msgpack_sbuffer *sb)
{
	size_t cap = M.cur->set.max_pending_output;

	if (c == NULL || c->link == NULL)
		return;
	if (link_pending(c->link) + sb->size > cap) {
		log_warn("client too slow: over %zu bytes of replies unread; "
		    "disconnected", cap);
		link_close(c->link, "too slow");
		return;
	}
	link_send(c->link, sb->data, sb->size);
}

void
rpc_result_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t msgid)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, 4);
	msgpack_pack_int(pk, 1);
	msgpack_pack_uint32(pk, msgid);
	msgpack_pack_nil(pk);
}

void
rpc_result_end(struct client *c, msgpack_sbuffer *sb)
{
	rpc_send(c, sb);
	msgpack_sbuffer_destroy(sb);
}

void
rpc_error_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t msgid,
    enum mb_kind k, const char *msg, size_t len, unsigned nextra)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, 4);
	msgpack_pack_int(pk, 1);
	msgpack_pack_uint32(pk, msgid);
	msgpack_pack_map(pk, 2 + nextra);
	rpc_pack_str(pk, "kind");
	rpc_pack_str(pk, kind_name(k));
	rpc_pack_str(pk, "message");
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, msg, len);
}

/* After the extra pairs: the result, nil. */
void
rpc_error_end(struct client *c, msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_nil(&pk);
	rpc_send(c, sb);
	msgpack_sbuffer_destroy(sb);
}

void
rpc_error(struct client *c, uint32_t msgid, enum mb_kind k, const char *msg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	rpc_error_begin(&sb, &pk, msgid, k, msg, strlen(msg), 0);
	rpc_error_end(c, &sb);
}

void
rpc_job_open(struct client *c, struct job *j)
{
	TAILQ_INSERT_TAIL(&c->jobs, j, in_client);
	if (++c->inflight >= M.cur->set.max_inflight && c->link != NULL)
		link_pause(c->link, 1);
}

void
rpc_job_closed(struct client *c, struct job *j)
{
	TAILQ_REMOVE(&c->jobs, j, in_client);
	c->inflight--;
	if (c->link == NULL)
		return;
	if (c->inflight < M.cur->set.max_inflight)
		link_pause(c->link, 0);
	if (c->eof && c->inflight == 0)
		link_close_after_flush(c->link);
}

static void
rpc_dispatch(struct client *c, uint32_t msgid, const char *name, size_t n,
    struct mpr *r)
{
	struct rpc_call call = { c, msgid, r, 0 };
	char msg[128];

	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strlen(methods[i].name) != n ||
		    memcmp(methods[i].name, name, n) != 0)
			continue;
		if (c->token != NULL && !c->authed &&
		    methods[i].call != method_auth) {
			rpc_error(c, msgid, MB_DENIED, "this socket needs a "
			    "token: call auth [token] first");
			if (c->link != NULL)
				link_close_after_flush(c->link);
			return;
		}
		if (!(methods[i].sockets & c->socket)) {
			snprintf(msg, sizeof msg, "method '%s' is only "
			    "available on the control socket", methods[i].name);
			rpc_error(c, msgid, MB_BAD_REQUEST, msg);
			return;
		}
		if (mpr_array(r, &call.nparams) < 0) {
			rpc_error(c, msgid, MB_BAD_REQUEST,
			    "params must be an array");
			return;
		}
		methods[i].call(&call);
		return;
	}
	snprintf(msg, sizeof msg, "unknown method '%.*s'",
	    (int)(n > 64 ? 64 : n), name);
	rpc_error(c, msgid, MB_BAD_REQUEST, msg);
}

static void
rpc_protocol_error(struct client *c, const char *what)
{
	c->protocol_error = 1;
	M.stats.protocol_errors++;
	log_info("client closed: not a msgpack-RPC request: %s", what);
	link_close(c->link, what);
}

static void
client_on_message(struct link *l, const char *buf, size_t len, void *ud)
{
	struct client *c = ud;
	struct mpr r;
	uint32_t n;
	int64_t type;
	uint64_t msgid;
	const char *name;
	size_t namelen;

	(void)l;
	M.stats.requests++;
	mpr_init(&r, buf, len);
	if (mpr_array(&r, &n) < 0 || mpr_int(&r, &type) < 0) {
		rpc_protocol_error(c, r.err);
		return;
	}
	if (type == 2 && n == 3)
		return;		/* a notification: we have none to act on */
	if (type != 0 || n != 4) {
		rpc_protocol_error(c, "expected [0, msgid, method, params]");
		return;
	}
	if (mpr_uint(&r, &msgid) < 0 || msgid > UINT32_MAX) {
		rpc_protocol_error(c, "msgid must be a 32-bit unsigned integer");
		return;
	}
	if (mpr_str(&r, &name, &namelen) < 0 || namelen > RPC_METHOD_MAX) {
		rpc_error(c, (uint32_t)msgid, MB_BAD_REQUEST,
		    "the method must be a string of at most 64 bytes");
		return;
	}
	rpc_dispatch(c, (uint32_t)msgid, name, namelen, &r);
}

/* The client will send no more: answer what it asked, then close. */
static void
client_on_eof(struct link *l, void *ud)
{
	struct client *c = ud;

	c->eof = 1;
	if (c->inflight == 0)
		link_close_after_flush(l);
}

/* Gone: its queued invocations are dropped, those running finish unseen. */
static void
client_on_closed(struct link *l, const char *why, void *ud)
{
	struct client *c = ud;
	struct job *j, *next;

	(void)l;
	if (strcmp(why, "end of file") != 0 && strcmp(why, "closed") != 0 &&
	    strcmp(why, "too slow") != 0 && c->socket != 0 &&
	    !c->protocol_error) {
		M.stats.protocol_errors++;
		log_info("client closed: %s", why);
	}
	c->link = NULL;
	TAILQ_FOREACH_SAFE(j, &c->jobs, in_client, next) {
		TAILQ_REMOVE(&c->jobs, j, in_client);
		j->sink = NULL;		/* its answer goes nowhere */
		if (j->queued) {
			pool_unqueue(j);
			job_free(j);
		}
	}
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	free(c);
}

/* The sink of invocations asked for by msgpack-RPC: the answer is
 * [1, msgid, nil, {value, id, usage, log}] or
 * [1, msgid, {kind, message, id, usage, log}, nil]. */
static void
rpc_sink_opened(struct job *j)
{
	rpc_job_open(j->sink_ud, j);
}

static void
rpc_sink_reply(struct job *j, enum mb_kind k, const char *msg, size_t len,
    const struct msg_result *m)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_uint32(&pk, j->msgid);
	if (k == MB_OK) {
		msgpack_pack_nil(&pk);
		job_pack_result(&sb, j, m);
	} else {
		job_pack_error(&sb, j, k, msg, len, m);
		msgpack_pack_nil(&pk);
	}
	rpc_send(j->sink_ud, &sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
rpc_sink_closed(struct job *j)
{
	rpc_job_closed(j->sink_ud, j);
}

static const struct job_sink rpc_sink = {
	rpc_sink_opened, rpc_sink_reply, rpc_sink_closed
};

/* invoke [rule, input] or [rule, input, options] */
void
method_invoke(struct rpc_call *call)
{
	struct invreq q;
	char err[256];

	if (invreq_from_rpc(call->params, call->nparams, &q, err,
	    sizeof err) < 0) {
		rpc_error(call->client, call->msgid, MB_BAD_REQUEST, err);
		return;
	}
	if (job_submit(&q, &rpc_sink, call->client, NULL, call->msgid) < 0)
		rpc_error(call->client, call->msgid, MB_INTERNAL,
		    "out of memory");
}

static const struct link_ops client_link_ops = {
	client_on_message, client_on_eof, client_on_closed
};

static void
rpc_on_accept(evutil_socket_t fd, short what, void *ud)
{
	struct listener *ls = ud;
	struct client *c;
	int s;

	(void)fd, (void)what;
	if ((s = accept4(ls->fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept: %s", strerror(errno));
		return;
	}
	if (M.draining || nclients >= M.cur->set.max_connections ||
	    (c = calloc(1, sizeof *c)) == NULL) {
		if (!M.draining)
			log_warn("connection refused: %u connections open, the "
			    "most max-connections allows", nclients);
		close(s);
		return;
	}
	c->socket = ls->socket;
	c->token = ls->token[0] != '\0' ? ls->token : NULL;
	TAILQ_INIT(&c->jobs);
	c->link = link_new(M.base, s, LINK_STREAM, M.cur->set.max_request,
	    &client_link_ops, c);
	if (c->link == NULL) {
		close(s);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;
	M.stats.connections++;
}

/* auth [token]: a TCP listener's clients present its token first. A wrong
 * one ends the connection. */
static void
method_auth(struct rpc_call *call)
{
	struct client *c = call->client;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *t;
	size_t n;

	if (call->nparams != 1 || mpr_str(call->params, &t, &n) < 0 ||
	    mpr_end(call->params) < 0) {
		rpc_error(c, call->msgid, MB_BAD_REQUEST, "auth takes [token]");
		return;
	}
	if (c->token != NULL && !listen_token_ok(c->token, t, n)) {
		log_warn("client refused: a wrong token");
		rpc_error(c, call->msgid, MB_DENIED, "wrong token");
		if (c->link != NULL)
			link_close_after_flush(c->link);
		return;
	}
	c->authed = 1;
	rpc_result_begin(&sb, &pk, call->msgid);
	msgpack_pack_true(&pk);
	rpc_result_end(c, &sb);
}

int
rpc_listen(int fd, enum rpc_socket which, const char *token)
{
	struct listener *ls;

	if (nlisteners == (int)(sizeof listeners / sizeof listeners[0]))
		return -1;
	ls = &listeners[nlisteners];
	ls->fd = fd;
	ls->socket = which;
	snprintf(ls->token, sizeof ls->token, "%s", token != NULL ? token : "");
	if (evutil_make_socket_nonblocking(fd) < 0 ||
	    (ls->ev = event_new(M.base, fd, EV_READ | EV_PERSIST, rpc_on_accept,
	    ls)) == NULL || event_add(ls->ev, NULL) < 0)
		return -1;
	nlisteners++;
	return 0;
}

void
rpc_stop_listening(void)
{
	for (int i = 0; i < nlisteners; i++) {
		event_free(listeners[i].ev);
		close(listeners[i].fd);
	}
	nlisteners = 0;
}

unsigned
rpc_clients(void)
{
	return nclients;
}

void
rpc_close_all(void)
{
	struct client *c, *next;

	TAILQ_FOREACH_SAFE(c, &clients, entry, next)
		if (c->link != NULL)
			link_close_after_flush(c->link);
}
