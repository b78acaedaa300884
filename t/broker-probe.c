/*
 * broker-probe.c: a test-only program, never reachable from Lua. It starts
 * the real broker (`moonboxd --broker CONF`, as the master does), plays the
 * master on the broker's channel and a set of workers, some misbehaving,
 * on theirs, and prints TAP. What a worker compromised at the C level
 * could write is written here: calls outside an invocation, garbage,
 * frames over the cap, forged fields, a second call before the first is
 * answered, calls after the invocation ended. Each must get nothing beyond
 * the pool's policy, be reported to the master, and leave the broker up.
 * usage: broker-probe MOONBOXD CONF [PORT]; PORT: a TCP port on 127.0.0.1
 * that accepts and never answers (for a call that stays in flight).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "chan.h"
#include "mpr.h"
#include "msg.h"
#include "tap.h"

static int master = -1;
static uint64_t next_seq = 1;

static int
start_broker(const char *moonboxd, const char *conf, pid_t *pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || (*pid = fork()) < 0)
		return -1;
	if (*pid == 0) {
		dup2(sv[1], 3);
		close_range(4, ~0U, 0);
		execl(moonboxd, "moonboxd", "--broker", conf, "stderr",
		    (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	return sv[0];
}

static void
send_frame(int fd, msgpack_sbuffer *sb)
{
	if (chan_send(fd, sb->data, sb->size) < 0)
		diag("send: %s", strerror(errno));
	msgpack_sbuffer_destroy(sb);
}

/* A new worker of pool: its channel, handed to the broker. */
static int
attach(uint64_t id, const char *pool)
{
	msgpack_sbuffer sb;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	msgpack_sbuffer_init(&sb);
	msg_attach_pack(&sb, id, pool);
	chan_send_fds(master, sb.data, sb.size, &sv[1], 1, 0);
	msgpack_sbuffer_destroy(&sb);
	close(sv[1]);
	return sv[0];
}

static void
begin(uint64_t id, const char *inv, const char *rule, uint64_t calls)
{
	struct msg_br_begin b = { .worker = id, .calls = calls,
	    .deadline_ms = 5000 };
	msgpack_sbuffer sb;

	snprintf(b.invocation, sizeof b.invocation, "%s", inv);
	snprintf(b.rule, sizeof b.rule, "%s", rule);
	msgpack_sbuffer_init(&sb);
	msg_br_begin_pack(&sb, &b);
	send_frame(master, &sb);
}

static void
end(uint64_t id, const char *inv)
{
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	msg_br_end_pack(&sb, id, inv);
	send_frame(master, &sb);
}

/* A capability call with one string argument. */
static void
call_str(int w, const char *cap, const char *method, const char *arg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msg_cap_call_begin(&sb, &pk, next_seq++, cap, method, arg ? 1 : 0);
	if (arg != NULL) {
		msgpack_pack_str(&pk, strlen(arg));
		msgpack_pack_str_body(&pk, arg, strlen(arg));
	}
	msg_finish(&sb);
	send_frame(w, &sb);
}

/* http.request{url = url}: the one argument is a map. */
static void
call_http(int w, const char *url)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msg_cap_call_begin(&sb, &pk, next_seq++, "http", "request", 1);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "url", 3);
	msgpack_pack_str(&pk, strlen(url));
	msgpack_pack_str_body(&pk, url, strlen(url));
	msgpack_pack_str(&pk, 6);
	msgpack_pack_str_body(&pk, "method", 6);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "GET", 3);
	msg_finish(&sb);
	send_frame(w, &sb);
}

/* The kind of the next reply on w; -1 at end of file or after 3 s. */
static int
reply_kind(int w)
{
	struct msg_cap_reply rep;
	struct mpr r;
	char *buf;
	size_t len;
	int kind;

	if (chan_recv(w, &buf, &len, 3000) != 1)
		return -1;
	mpr_init(&r, buf, len);
	kind = msg_cap_reply_decode(&r, &rep) == 0 ? (int)rep.kind : -2;
	free(buf);
	return kind;
}

static int
closed_soon(int w)
{
	char *buf;
	size_t len;
	int r = chan_recv(w, &buf, &len, 3000);

	free(buf);
	return r == 0 || (r < 0 && errno != ETIMEDOUT);
}

/* The next message from the broker: a violation for worker id? */
static int
violation_for(uint64_t id)
{
	struct msg_span why;
	struct mpr r;
	char *buf;
	size_t len;
	uint64_t got = 0;
	int ok;

	if (chan_recv(master, &buf, &len, 3000) != 1)
		return 0;
	mpr_init(&r, buf, len);
	ok = msg_violation_decode(&r, &got, &why) == 0 && got == id;
	if (ok)
		diag("violation of worker %llu: %.*s", (unsigned long long)got,
		    (int)why.n, why.p);
	free(buf);
	return ok;
}

static void
raw(int w, const void *p, size_t n)
{
	(void)!write(w, p, n);
}

static void
case_out_of_phase(void)
{
	int w = attach(1, "default");

	call_str(w, "kv", "get", "c:x");
	ok(violation_for(1), "a call before any invocation is reported to the "
	    "master");
	ok(closed_soon(w), "and the broker closes that worker's channel");
	close(w);
	w = attach(2, "default");
	begin(2, "inv2", "probe", 10);
	end(2, "inv2");
	call_str(w, "kv", "get", "c:x");
	ok(violation_for(2), "a call after its invocation ended is reported");
	ok(closed_soon(w), "and closes the channel");
	close(w);
}

static void
case_garbage(void)
{
	static const unsigned char junk[] = { 0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1 };
	static const unsigned char huge[] = { 0x7f, 0xff, 0xff, 0xff };
	int w = attach(3, "default");

	begin(3, "inv3", "probe", 10);
	raw(w, junk, sizeof junk);
	ok(violation_for(3), "garbage on a worker's channel is reported");
	ok(closed_soon(w), "and closes the channel");
	close(w);
	w = attach(4, "default");
	begin(4, "inv4", "probe", 10);
	raw(w, huge, sizeof huge);
	ok(violation_for(4), "a frame over the size cap is reported");
	ok(closed_soon(w), "and closes the channel");
	close(w);
}

/* [700, seq, "kv", "get", ["c:x"], "other-rule"]: one field too many,
 * as a worker naming another rule might try. */
static void
case_forged(void)
{
	int w = attach(5, "default");
	msgpack_sbuffer sb;
	msgpack_packer pk;

	begin(5, "inv5", "probe", 10);
	msgpack_sbuffer_init(&sb);
	msg_begin(&sb, &pk, PROTO_CAP_CALL, 5);
	msgpack_pack_uint64(&pk, next_seq++);
	msgpack_pack_str(&pk, 2);
	msgpack_pack_str_body(&pk, "kv", 2);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "get", 3);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "c:x", 3);
	msgpack_pack_str(&pk, 5);
	msgpack_pack_str_body(&pk, "admin", 5);
	msg_finish(&sb);
	send_frame(w, &sb);
	ok(violation_for(5), "a call naming a rule of its own is refused and "
	    "reported");
	close(w);
}

static void
case_policy(void)
{
	int w = attach(6, "default");

	begin(6, "inv6", "probe", 3);
	call_str(w, "kv", "get", "c:x");
	is_int(reply_kind(w), MB_OK, "a call the policy grants is answered");
	call_str(w, "kv", "get", "secret:x");
	is_int(reply_kind(w), MB_DENIED, "a key the policy does not grant is "
	    "denied");
	call_str(w, "secret", "get", "not_granted");
	is_int(reply_kind(w), MB_DENIED, "a secret the policy does not grant "
	    "is denied");
	call_str(w, "kv", "get", "c:y");
	is_int(reply_kind(w), MB_DENIED, "a call over the invocation's calls "
	    "limit is denied");
	end(6, "inv6");
	begin(6, "inv6b", "probe", 10);
	call_str(w, "kv", "get", "c:1");
	call_str(w, "kv", "get", "c:2");
	call_str(w, "kv", "get", "c:3");
	is_int(reply_kind(w), MB_OK, "a new invocation starts with fresh counts");
	is_int(reply_kind(w), MB_OK, "its second kv call is within its quota");
	is_int(reply_kind(w), MB_DENIED, "its third passes the policy's quota "
	    "and is denied");
	call_str(w, "frob", "nicate", "x");
	is_int(reply_kind(w), MB_BAD_REQUEST, "an unknown capability is refused");
	end(6, "inv6b");
	close(w);
}

static void
case_second_call(int port)
{
	int w = attach(7, "default");
	char url[64];

	if (port == 0) {
		ok(1, "# SKIP no port for a call that stays in flight");
		ok(1, "# SKIP no port for a call that stays in flight");
		return;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", port);
	begin(7, "inv7", "probe", 10);
	call_http(w, url);
	call_str(w, "kv", "get", "c:x");
	ok(violation_for(7), "a second call before the first is answered is "
	    "reported");
	ok(closed_soon(w), "and closes the channel");
	close(w);
}

static void
case_still_up(void)
{
	int w = attach(8, "default");

	begin(8, "inv8", "probe", 10);
	call_str(w, "time", "now", NULL);
	is_int(reply_kind(w), MB_OK, "after all that the broker still answers "
	    "a well-behaved worker");
	end(8, "inv8");
	close(w);
}

int
main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc < 3) {
		fprintf(stderr, "usage: broker-probe MOONBOXD CONF [PORT]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((master = start_broker(argv[1], argv[2], &pid)) < 0) {
		perror("broker-probe");
		return 2;
	}
	plan(22);
	case_out_of_phase();
	case_garbage();
	case_forged();
	case_policy();
	case_second_call(argc > 3 ? atoi(argv[3]) : 0);
	case_still_up();
	ok(kill(pid, 0) == 0, "the broker process is alive");
	close(master);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "and exits 0 when the master "
	    "goes away");
	return done_testing();
}
