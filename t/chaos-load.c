/*
 * chaos-load.c: a load of invocations on moonboxd that accounts for every
 * reply, for t/chaos.t, the soak (t/soak.sh) and the exhaustion tests.
 * Many connections, each with many requests in flight (pipelined), rules
 * drawn by weight; each reply is matched to its request by msgid. At the
 * end it says how many were sent, answered (by kind), answered twice or
 * for no request, lost with a connection the daemon closed (refused: one
 * closed before its first reply, as a daemon short of memory or
 * descriptors refuses one), or never answered before the drain time ran
 * out.
 *
 *   chaos-load -s SOCKET [-c CONNS] [-d DEPTH] [-t SECONDS] [-n TOTAL]
 *       [-w DRAIN] [-p EVERY] -r RULE[:WEIGHT]...
 * The summary is one line on standard output:
 *   sent=N answered=N duplicate=N unknown=N lost=N refused=N
 *   unanswered=N bad=N max_ms=N kinds=ok:N,killed:N,...
 * With -p, a line "progress t=S sent=N answered=N" goes to standard error
 * every EVERY seconds. Exits 0 when every request had exactly one reply of
 * a documented kind, 1 otherwise, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <msgpack.h>

#include "kind.h"
#include "mpr.h"

#define CL_MAX_RULES	16
#define CL_MAX_DEPTH	1024

struct cl_rule {
	char		 name[256];
	unsigned	 weight;
};

struct cl_conn {
	int		 fd;
	uint32_t	 next_id;
	unsigned	 inflight;
	unsigned long long replies;	/* since it connected */
	double		 sent_at[CL_MAX_DEPTH];	/* by msgid % depth */
	uint32_t	 ids[CL_MAX_DEPTH];
	unsigned char	 used[CL_MAX_DEPTH];
	char		*in;
	size_t		 inlen, incap;
	char		*out;
	size_t		 outlen, outcap;
};

static struct {
	const char	*socket;
	unsigned	 conns, depth;
	double		 seconds, drain, progress;
	unsigned long long total;
	struct cl_rule	 rules[CL_MAX_RULES];
	int		 nrules;
	unsigned	 weights;
} opt = { NULL, 8, 16, 5, 30, 0, 0, {{ "", 0 }}, 0, 0 };

static struct {
	unsigned long long sent, answered, duplicate, unknown, lost, refused;
	unsigned long long bad;
	unsigned long long kinds[MB_KIND_COUNT];
	double		 max_ms;
} st;

static double
cl_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
cl_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", opt.socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
cl_write(void *data, const char *buf, size_t len)
{
	struct cl_conn *c = data;

	if (c->outlen + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *p;

		while (cap < c->outlen + len)
			cap *= 2;
		if ((p = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, buf, len);
	c->outlen += len;
	return 0;
}

static const char *
cl_pick_rule(void)
{
	unsigned r = (unsigned)random() % opt.weights;

	for (int i = 0; i < opt.nrules; i++) {
		if (r < opt.rules[i].weight)
			return opt.rules[i].name;
		r -= opt.rules[i].weight;
	}
	return opt.rules[0].name;
}

/* [0, msgid, "invoke", [rule, {n = msgid}]] */
static void
cl_send_one(struct cl_conn *c)
{
	const char *rule = cl_pick_rule();
	uint32_t id = c->next_id++;
	unsigned slot = id % opt.depth;
	msgpack_packer pk;

	if (c->used[slot])
		return;		/* that msgid's slot is still out: wait */
	msgpack_packer_init(&pk, c, cl_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, id);
	msgpack_pack_str_with_body(&pk, "invoke", 6);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_str_with_body(&pk, rule, strlen(rule));
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "n", 1);
	msgpack_pack_uint32(&pk, id);
	c->used[slot] = 1;
	c->ids[slot] = id;
	c->sent_at[slot] = cl_now();
	c->inflight++;
	st.sent++;
}

/* The kind of an error map {kind = ..., message = ...}, or -1. */
static int
cl_error_kind(struct mpr *r)
{
	struct mpr_item it;
	uint32_t n;
	int kind = -1;

	if (mpr_map(r, &n) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kn;

		if (mpr_str(r, &k, &kn) < 0)
			return -1;
		if (kn == 4 && memcmp(k, "kind", 4) == 0) {
			char name[32];
			enum mb_kind e;

			if (mpr_next(r, &it) < 0 || it.type != MPR_STR ||
			    it.v.s.n >= sizeof name)
				return -1;
			memcpy(name, it.v.s.p, it.v.s.n);
			name[it.v.s.n] = '\0';
			if (kind_from_name(name, &e) < 0 || e == MB_OK)
				return -1;
			kind = (int)e;
		} else if (mpr_skip(r, MPR_MAX_DEPTH) < 0)
			return -1;
	}
	return kind;
}

/* One response [1, msgid, error, result]. */
static void
cl_response(struct cl_conn *c, const char *buf, size_t len)
{
	struct mpr r;
	uint32_t n;
	int64_t type;
	uint64_t id;
	int kind;
	unsigned slot;

	mpr_init(&r, buf, len);
	if (mpr_array(&r, &n) < 0 || n != 4 || mpr_int(&r, &type) < 0 ||
	    type != 1 || mpr_uint(&r, &id) < 0 || id > UINT32_MAX) {
		st.bad++;
		return;
	}
	slot = (unsigned)(id % opt.depth);
	if (!c->used[slot] || c->ids[slot] != (uint32_t)id) {
		if (id < c->next_id)
			st.duplicate++;
		else
			st.unknown++;
		return;
	}
	kind = mpr_is_nil(&r) ? MB_OK : cl_error_kind(&r);
	if (kind < 0) {
		st.bad++;
		kind = MB_INTERNAL;
	}
	st.kinds[kind]++;
	st.answered++;
	c->replies++;
	if ((cl_now() - c->sent_at[slot]) * 1000 > st.max_ms)
		st.max_ms = (cl_now() - c->sent_at[slot]) * 1000;
	c->used[slot] = 0;
	c->inflight--;
}

/* Read what there is; hand over whole values. -1: the daemon closed. */
static int
cl_read(struct cl_conn *c)
{
	for (;;) {
		ssize_t got;

		if (c->inlen + 65536 > c->incap) {
			size_t cap = c->incap ? c->incap * 2 : 131072;
			char *p = realloc(c->in, cap);

			if (p == NULL)
				return -1;
			c->in = p;
			c->incap = cap;
		}
		got = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (got == 0)
			return -1;
		if (got < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->inlen += (size_t)got;
		for (;;) {
			struct mpr_scan s;
			size_t n;
			int r;

			mpr_scan_init(&s);
			r = mpr_scan(&s, c->in, c->inlen, MPR_MAX_DEPTH, &n);
			if (r < 0) {
				st.bad++;
				return -1;
			}
			if (r == 0)
				break;
			cl_response(c, c->in, n);
			memmove(c->in, c->in + n, c->inlen - n);
			c->inlen -= n;
		}
	}
}

static int
cl_flush(struct cl_conn *c)
{
	while (c->outlen > 0) {
		ssize_t w = write(c->fd, c->out, c->outlen);

		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		memmove(c->out, c->out + w, c->outlen - (size_t)w);
		c->outlen -= (size_t)w;
	}
	return 0;
}

/* The daemon closed: what was in flight is lost; connect again. */
static void
cl_lost(struct cl_conn *c, int sending)
{
	if (c->replies == 0)
		st.refused += c->inflight;
	else
		st.lost += c->inflight;
	c->replies = 0;
	memset(c->used, 0, sizeof c->used);
	c->inflight = 0;
	c->inlen = c->outlen = 0;
	close(c->fd);
	c->fd = sending ? cl_connect() : -1;
}

static void
cl_usage(void)
{
	fprintf(stderr, "usage: chaos-load -s SOCKET [-c CONNS] [-d DEPTH] "
	    "[-t SECONDS] [-n TOTAL] [-w DRAIN] [-p EVERY] -r RULE[:WEIGHT]...\n");
	exit(2);
}

static void
cl_options(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "s:c:d:t:n:w:p:r:")) != -1) {
		char *colon;

		switch (ch) {
		case 's': opt.socket = optarg; break;
		case 'c': opt.conns = (unsigned)atoi(optarg); break;
		case 'd': opt.depth = (unsigned)atoi(optarg); break;
		case 't': opt.seconds = atof(optarg); break;
		case 'n': opt.total = strtoull(optarg, NULL, 10); break;
		case 'w': opt.drain = atof(optarg); break;
		case 'p': opt.progress = atof(optarg); break;
		case 'r':
			if (opt.nrules == CL_MAX_RULES)
				cl_usage();
			colon = strrchr(optarg, ':');
			opt.rules[opt.nrules].weight = colon != NULL ?
			    (unsigned)atoi(colon + 1) : 1;
			if (colon != NULL)
				*colon = '\0';
			snprintf(opt.rules[opt.nrules].name,
			    sizeof opt.rules[0].name, "%s", optarg);
			opt.weights += opt.rules[opt.nrules++].weight;
			break;
		default:
			cl_usage();
		}
	}
	if (opt.socket == NULL || opt.nrules == 0 || opt.weights == 0 ||
	    opt.conns == 0 || opt.depth == 0 || opt.depth > CL_MAX_DEPTH)
		cl_usage();
}

static void
cl_report(unsigned long long unanswered)
{
	int first = 1;

	printf("sent=%llu answered=%llu duplicate=%llu unknown=%llu lost=%llu "
	    "refused=%llu unanswered=%llu bad=%llu max_ms=%.0f kinds=", st.sent,
	    st.answered, st.duplicate, st.unknown, st.lost, st.refused,
	    unanswered, st.bad, st.max_ms);
	for (int k = 0; k < MB_KIND_COUNT; k++) {
		if (st.kinds[k] == 0)
			continue;
		printf("%s%s:%llu", first ? "" : ",", kind_name((enum mb_kind)k),
		    st.kinds[k]);
		first = 0;
	}
	printf("\n");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct cl_conn *c;
	struct pollfd *pf;
	double t0, last_progress;
	unsigned long long unanswered = 0;
	int sending = 1;

	cl_options(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)getpid());
	c = calloc(opt.conns, sizeof *c);
	pf = calloc(opt.conns, sizeof *pf);
	if (c == NULL || pf == NULL)
		return 1;
	for (unsigned i = 0; i < opt.conns; i++)
		if ((c[i].fd = cl_connect()) < 0) {
			perror(opt.socket);
			return 1;
		}
	t0 = last_progress = cl_now();
	for (;;) {
		double t = cl_now();
		unsigned open = 0;

		if (sending && ((opt.seconds > 0 && t - t0 >= opt.seconds) ||
		    (opt.total > 0 && st.sent >= opt.total))) {
			sending = 0;
			t0 = t;		/* now the drain time counts */
		}
		if (opt.progress > 0 && t - last_progress >= opt.progress) {
			fprintf(stderr, "progress t=%.0f sent=%llu answered=%llu\n",
			    t - t0, st.sent, st.answered);
			last_progress = t;
		}
		for (unsigned i = 0; i < opt.conns; i++) {
			while (sending && c[i].fd >= 0 &&
			    c[i].inflight < opt.depth &&
			    (opt.total == 0 || st.sent < opt.total)) {
				unsigned before = c[i].inflight;

				cl_send_one(&c[i]);
				if (c[i].inflight == before)
					break;
			}
			if (c[i].fd >= 0 && cl_flush(&c[i]) < 0)
				cl_lost(&c[i], sending);
			pf[i].fd = c[i].fd;
			pf[i].events = POLLIN | (c[i].outlen > 0 ? POLLOUT : 0);
			open += c[i].fd >= 0 && c[i].inflight > 0;
		}
		if (!sending && open == 0)
			break;
		if (!sending && t - t0 >= opt.drain)
			break;
		if (poll(pf, opt.conns, 100) < 0 && errno != EINTR)
			return 1;
		for (unsigned i = 0; i < opt.conns; i++)
			if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP |
			    POLLERR)) && cl_read(&c[i]) < 0)
				cl_lost(&c[i], sending);
	}
	for (unsigned i = 0; i < opt.conns; i++) {
		unanswered += c[i].inflight;
		if (c[i].fd >= 0)
			close(c[i].fd);
		free(c[i].in);
		free(c[i].out);
	}
	free(c);
	free(pf);
	cl_report(unanswered);
	return st.duplicate || st.unknown || st.lost || st.refused ||
	    unanswered || st.bad || st.sent == 0;
}
