/*
 * worker.c: a worker's life. It contains itself before it touches any rule
 * (contain.c), builds the next sandbox before the request that will use it
 * (invoke.c), and answers each PROTO_WK_INVOKE with one PROTO_WK_RESULT.
 * Messages are dispatched from one table with the phase each is permitted
 * in; anything else ends the worker, and the master replaces it.
 * Uses chan.c and msg.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "invoke.h"
#include "mod.h"
#include "mpr.h"
#include "msg.h"
#include "worker.h"

/* Exit statuses, for the master's logs. */
enum {
	WK_EXIT_DONE = 0,	/* channel closed, or retired */
	WK_EXIT_CONTAIN = 70,	/* containment failed */
	WK_EXIT_CHANNEL = 71,	/* the channel broke */
	WK_EXIT_PROTOCOL = 72,	/* a message not permitted */
	WK_EXIT_SANDBOX = 73,	/* no Lua state could be made */
};

enum wk_phase { WK_IDLE = 1, WK_BUSY = 2 };

struct wk {
	const struct worker_config	*cfg;
	struct inv_sandbox		 sb;
	enum wk_phase			 phase;
	msgpack_sbuffer			 out;
};

static void __attribute__((noreturn))
wk_exit(int status)
{
	_exit(status);
}

static void
wk_send(struct wk *w)
{
	if (chan_send(w->cfg->chan, w->out.data, w->out.size) < 0)
		wk_exit(WK_EXIT_CHANNEL);
}

/* The frame of a result; one that will not fit becomes an output error. */
static void
wk_pack_result(struct wk *w, const char *id, struct inv_outcome *o)
{
	if (msg_result_pack(&w->out, id, o) == 0)
		return;
	msgpack_sbuffer_clear(&o->result);
	inv_outcome_free(o);
	inv_outcome_init(o);
	inv_fail(o, MB_OUTPUT, "the result and log do not fit in one message "
	    "of %u bytes; lower the output or log limit", PROTO_FRAME_MAX);
	if (msg_result_pack(&w->out, id, o) < 0)
		wk_exit(WK_EXIT_PROTOCOL);
}

/* Past half its CPU limit a worker retires rather than be killed during an
 * invocation; the master starts another. */
static int
wk_should_retire(const struct wk *w)
{
	struct timespec t;
	unsigned limit = w->cfg->contain.cpu_seconds;

	if (limit == 0 || clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) < 0)
		return 0;
	return (unsigned long long)t.tv_sec * 2 >= limit;
}

static void
wk_invoke(struct wk *w, const char *buf, size_t len)
{
	struct msg_invoke m;
	struct inv_request req;
	struct inv_outcome out;
	char chunk[PROTO_NAME_MAX + 6];
	struct mpr r;

	mpr_init(&r, buf, len);
	if (msg_invoke_decode(&r, &m) < 0)
		wk_exit(WK_EXIT_PROTOCOL);
	w->phase = WK_BUSY;
	msg_invoke_request(&m, &req, chunk, sizeof chunk);
	inv_outcome_init(&out);
	inv_run(&w->sb, &req, &out);
	wk_pack_result(w, m.id, &out);
	inv_outcome_free(&out);
	wk_send(w);
	inv_discard(&w->sb);
	if (wk_should_retire(w))
		wk_exit(WK_EXIT_DONE);
	if (inv_prepare(&w->sb) < 0)	/* the next one, ahead */
		wk_exit(WK_EXIT_SANDBOX);
	w->phase = WK_IDLE;
}

static const struct {
	enum proto_type	 type;
	int		 phases;	/* where it is permitted */
	void		(*handle)(struct wk *, const char *, size_t);
} wk_dispatch[] = {
	{ PROTO_WK_INVOKE,	WK_IDLE,	wk_invoke },
};

static void
wk_handle(struct wk *w, const char *buf, size_t len)
{
	enum proto_type t;

	if (msg_type(buf, len, &t) < 0)
		wk_exit(WK_EXIT_PROTOCOL);
	for (size_t i = 0; i < sizeof wk_dispatch / sizeof wk_dispatch[0];
	    i++) {
		if (wk_dispatch[i].type != t)
			continue;
		if ((wk_dispatch[i].phases & w->phase) == 0)
			break;
		wk_dispatch[i].handle(w, buf, len);
		return;
	}
	wk_exit(WK_EXIT_PROTOCOL);
}

void
worker_main(const struct worker_config *cfg)
{
	struct wk w = { .cfg = cfg, .phase = WK_IDLE };
	char err[512];

	msgpack_sbuffer_init(&w.out);
	if (contain(&cfg->contain, err, sizeof err) < 0) {
		msg_failed_pack(&w.out, err);
		wk_send(&w);
		wk_exit(WK_EXIT_CONTAIN);
	}
	if (inv_prepare(&w.sb) < 0) {
		msg_failed_pack(&w.out, "cannot create a Lua state");
		wk_send(&w);
		wk_exit(WK_EXIT_SANDBOX);
	}
	modcap_set_channel(cfg->broker);
	msg_ready_pack(&w.out);
	wk_send(&w);
	for (;;) {
		char *buf;
		size_t len;
		int r = chan_recv(cfg->chan, &buf, &len, -1);

		if (r == 0)
			wk_exit(WK_EXIT_DONE);
		if (r < 0)
			wk_exit(WK_EXIT_CHANNEL);
		wk_handle(&w, buf, len);
		free(buf);
	}
}
