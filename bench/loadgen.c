/*
 * loadgen.c: the load generator of bench/ (see bench/README.md). One
 * process, one epoll loop, K connections each keeping up to P requests in
 * flight, for a fixed time or a fixed count of answers, against moonboxd
 * (msgpack-RPC invoke) or Redis (RESP EVALSHA of the same Lua). It prints
 * one line of NAME=VALUE figures: answers per second, and latency
 * percentiles from a log-linear histogram (64 sub-buckets per power of two
 * of nanoseconds, so a percentile is within 1.6%), never an average.
 *
 * Every answer's value is compared, byte for byte, with the first one's:
 * a load generator that counts answers it did not check measures nothing.
 * Uses mpr.c (cutting msgpack answers) and jsonmp.c (the input as JSON).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <msgpack.h>

#include "jsonmp.h"
#include "mpr.h"

#define LG_SUB_BITS	6		/* 64 sub-buckets per power of two */
#define LG_SUB		(1u << LG_SUB_BITS)
#define LG_BUCKETS	(LG_SUB + (44 - LG_SUB_BITS) * LG_SUB)
#define LG_READ		(256u << 10)
#define LG_MAX_DEPTH	1024		/* requests in flight per connection */
#define LG_MAX_KINDS	16

enum lg_proto { LG_MOONBOX, LG_REDIS };

struct lg_hist {
	uint64_t	 n, max;
	uint64_t	 b[LG_BUCKETS];
};

struct lg_conn {
	int		 fd;
	unsigned	 inflight;
	uint64_t	 sent[LG_MAX_DEPTH];	/* send time by slot */
	uint32_t	 msgid[LG_MAX_DEPTH];	/* moonbox: the slot's msgid */
	unsigned	 head;			/* redis: oldest slot */
	char		*in;
	size_t		 inlen, incap;
	struct mpr_scan	 scan;
	char		*out;
	size_t		 outlen, outcap;
	int		 want_out;
};

struct lg_kind {
	char		 name[32];
	uint64_t	 n;
};

static struct {
	enum lg_proto	 proto;
	const char	*addr, *token, *auth_method;
	unsigned	 conns, depth;
	double		 seconds, warmup;
	uint64_t	 count;
	int		 quiet;
	char		*req;		/* one request; moonbox: msgid at 3..6 */
	size_t		 reqlen;
	uint32_t	 next_msgid;
	int		 ep;
	struct lg_conn	*c;
	uint64_t	 t_start, t_end;
	int		 measuring, stopping;
	struct lg_hist	 h;
	uint64_t	 answers, errors, mismatches, inflight;
	struct lg_kind	 kinds[LG_MAX_KINDS];
	char		*first;		/* the first value, raw */
	size_t		 firstlen;
	int		 have_first;
} G;

static void __attribute__((noreturn, format(printf, 1, 2)))
lg_die(const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
lg_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *
lg_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL)
		lg_die("out of memory");
	return p;
}

/* The histogram: exact below 64 ns, then 64 buckets per power of two. */
static unsigned
lg_hist_index(uint64_t v)
{
	int e;

	if (v < LG_SUB)
		return (unsigned)v;
	e = 63 - __builtin_clzll(v);
	return LG_SUB + (unsigned)(e - LG_SUB_BITS) * LG_SUB +
	    (unsigned)((v >> (e - LG_SUB_BITS)) & (LG_SUB - 1));
}

static double
lg_hist_value(unsigned i)
{
	unsigned e, sub;

	if (i < LG_SUB)
		return i;
	e = (i - LG_SUB) / LG_SUB + LG_SUB_BITS;
	sub = (i - LG_SUB) % LG_SUB;
	return ((double)(LG_SUB + sub) + 0.5) * (double)(1ull << (e -
	    LG_SUB_BITS));
}

static void
lg_hist_add(struct lg_hist *h, uint64_t v)
{
	unsigned i = lg_hist_index(v);

	h->b[i < LG_BUCKETS ? i : LG_BUCKETS - 1]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

static double
lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (unsigned i = 0; i < LG_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want)
			return lg_hist_value(i);
	}
	return (double)h->max;
}

static char *
lg_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0)
		lg_die("%s: %s", path, strerror(errno));
	p = lg_alloc((size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n)
		lg_die("%s: cannot read", path);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* An argument, or with a leading '@' the contents of a file. */
static char *
lg_arg(const char *a, size_t *len)
{
	char *p;

	if (a[0] == '@')
		return lg_read_file(a + 1, len);
	*len = strlen(a);
	p = lg_alloc(*len + 1);
	memcpy(p, a, *len);
	return p;
}

static void
lg_append(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 4096;

		while (c < *len + n)
			c *= 2;
		if ((*buf = realloc(*buf, c)) == NULL)
			lg_die("out of memory");
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

/* A connection: a unix socket path (with a '/'), or HOST:PORT. */
static int
lg_connect(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	int fd;

	if (strchr(addr, '/') != NULL || colon == NULL) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(addr) >= sizeof sun.sun_path)
			lg_die("%s: path too long", addr);
		memcpy(sun.sun_path, addr, strlen(addr) + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0)
			lg_die("%s: %s", addr, strerror(errno));
	} else {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
		char host[256];
		int one = 1;

		snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
		if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
			lg_die("%s: cannot resolve", addr);
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			lg_die("%s: %s", addr, strerror(errno));
		freeaddrinfo(ai);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	return fd;
}

static void
lg_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			lg_die("write: %s", strerror(errno));
		s += w, n -= (size_t)w;
	}
}

/* RESP: the length of the first whole reply in buf, 0 if it is not all
 * there yet, -1 if it cannot be one. */
static long
lg_resp_scan(const char *buf, size_t len, int depth)
{
	const char *nl;
	long n, used, sub;

	if (len < 1)
		return 0;
	if ((nl = memchr(buf, '\n', len)) == NULL)
		return 0;
	used = nl - buf + 1;
	if (used < 3 || nl[-1] != '\r')
		return -1;
	switch (buf[0]) {
	case '+': case '-': case ':':
		return used;
	case '$':
		n = strtol(buf + 1, NULL, 10);
		if (n < 0)
			return used;
		if ((size_t)used + (size_t)n + 2 > len)
			return 0;
		return used + n + 2;
	case '*':
		n = strtol(buf + 1, NULL, 10);
		if (depth > 16)
			return -1;
		for (long i = 0; i < n; i++) {
			if ((sub = lg_resp_scan(buf + used, len - (size_t)used,
			    depth + 1)) <= 0)
				return sub;
			used += sub;
		}
		return used;
	}
	return -1;
}

/* A blocking request on a fresh connection, for set-up: its reply. */
static char *
lg_resp_call(int fd, const char *req, size_t n, size_t *len)
{
	char *in = NULL;
	size_t inlen = 0, incap = 0;
	char chunk[65536];
	long r;

	lg_write_all(fd, req, n);
	while ((r = lg_resp_scan(in, inlen, 0)) == 0) {
		ssize_t got = read(fd, chunk, sizeof chunk);

		if (got <= 0)
			lg_die("redis closed the connection during set-up");
		lg_append(&in, &inlen, &incap, chunk, (size_t)got);
	}
	if (r < 0)
		lg_die("redis sent something that is not RESP");
	*len = (size_t)r;
	return in;
}

static void
lg_bulk(char **b, size_t *len, size_t *cap, const char *p, size_t n)
{
	char head[32];

	snprintf(head, sizeof head, "$%zu\r\n", n);
	lg_append(b, len, cap, head, strlen(head));
	lg_append(b, len, cap, p, n);
	lg_append(b, len, cap, "\r\n", 2);
}

/* SCRIPT LOAD the script; the request is EVALSHA sha nkeys keys... args.
 * argv holds the keys (the first nkeys) then the arguments. */
static void
lg_redis_request(const char *script, size_t slen, char **argv, int nkeys,
    int nargs)
{
	char *b = NULL, *reply, head[32], sha[41];
	size_t len = 0, cap = 0, rlen, alen;
	int fd = lg_connect(G.addr);

	lg_append(&b, &len, &cap, "*3\r\n", 4);
	lg_bulk(&b, &len, &cap, "SCRIPT", 6);
	lg_bulk(&b, &len, &cap, "LOAD", 4);
	lg_bulk(&b, &len, &cap, script, slen);
	reply = lg_resp_call(fd, b, len, &rlen);
	if (reply[0] != '$' || rlen < 40 + 7)
		lg_die("SCRIPT LOAD failed: %.*s", (int)rlen, reply);
	memcpy(sha, strchr(reply, '\n') + 1, 40);
	sha[40] = '\0';
	free(reply);
	close(fd);
	len = 0;
	snprintf(head, sizeof head, "*%d\r\n", 3 + nargs);
	lg_append(&b, &len, &cap, head, strlen(head));
	lg_bulk(&b, &len, &cap, "EVALSHA", 7);
	lg_bulk(&b, &len, &cap, sha, 40);
	snprintf(head, sizeof head, "%d", nkeys);
	lg_bulk(&b, &len, &cap, head, strlen(head));
	for (int i = 0; i < nargs; i++) {
		char *a = lg_arg(argv[i], &alen);

		lg_bulk(&b, &len, &cap, a, alen);
		free(a);
	}
	G.req = b;
	G.reqlen = len;
}

/* [0, msgid, "invoke", [rule, input, options]]; the msgid is always a
 * uint32 (0xce and four bytes at offset 3) so it can be patched. */
static void
lg_moonbox_request(const char *rule, const char *input, const char *opts)
{
	msgpack_sbuffer sb, val;
	msgpack_packer pk;
	char err[256];
	size_t n;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\x94\x00\xce\0\0\0\0", 7);
	msgpack_pack_str(&pk, 6);
	msgpack_pack_str_body(&pk, "invoke", 6);
	msgpack_pack_array(&pk, opts != NULL ? 3 : 2);
	msgpack_pack_str(&pk, strlen(rule));
	msgpack_pack_str_body(&pk, rule, strlen(rule));
	for (int i = 0; i < (opts != NULL ? 2 : 1); i++) {
		const char *a = i == 0 ? input : opts;
		char *text;

		if (a == NULL) {
			msgpack_pack_nil(&pk);
			continue;
		}
		text = lg_arg(a, &n);
		msgpack_sbuffer_init(&val);
		if (jmp_from_json(text, n, &val, err, sizeof err) < 0)
			lg_die("%s: %s", i == 0 ? "input" : "options", err);
		msgpack_sbuffer_write(&sb, val.data, val.size);
		msgpack_sbuffer_destroy(&val);
		free(text);
	}
	G.req = sb.data;
	G.reqlen = sb.size;
}

static void
lg_count_kind(const char *name, size_t n)
{
	int i;

	G.errors++;
	if (n >= sizeof G.kinds[0].name)
		n = sizeof G.kinds[0].name - 1;
	for (i = 0; i < LG_MAX_KINDS && G.kinds[i].name[0] != '\0'; i++)
		if (strlen(G.kinds[i].name) == n &&
		    memcmp(G.kinds[i].name, name, n) == 0)
			break;
	if (i == LG_MAX_KINDS)
		i = LG_MAX_KINDS - 1;
	if (G.kinds[i].name[0] == '\0') {
		memcpy(G.kinds[i].name, name, n);
		G.kinds[i].name[n] = '\0';
	}
	G.kinds[i].n++;
}

/* The value must be the first answer's, byte for byte. */
static void
lg_check_value(const char *p, size_t n)
{
	if (!G.have_first) {
		G.first = lg_alloc(n);
		memcpy(G.first, p, n);
		G.firstlen = n;
		G.have_first = 1;
		return;
	}
	if (n != G.firstlen || memcmp(p, G.first, n) != 0)
		G.mismatches++;
}

/* One moonbox answer: its msgid, and its outcome counted. */
static int
lg_moonbox_answer(const char *buf, size_t len, uint32_t *msgid)
{
	struct mpr r;
	uint32_t n, pairs;
	int64_t type;
	uint64_t id;
	const char *k, *v;
	size_t kn, vn;

	mpr_init(&r, buf, len);
	if (mpr_array(&r, &n) < 0 || n != 4 || mpr_int(&r, &type) < 0 ||
	    type != 1 || mpr_uint(&r, &id) < 0)
		lg_die("not a msgpack-RPC response");
	*msgid = (uint32_t)id;
	if (mpr_is_nil(&r)) {
		if (mpr_map(&r, &pairs) < 0)
			lg_die("a result that is not a map");
		for (uint32_t i = 0; i < pairs; i++) {
			if (mpr_str(&r, &k, &kn) < 0 || mpr_raw(&r,
			    MPR_MAX_DEPTH, &v, &vn) < 0)
				lg_die("a bad result map");
			if (kn == 5 && memcmp(k, "value", 5) == 0) {
				lg_check_value(v, vn);
				return 0;
			}
		}
		lg_die("a result without a value");
	}
	if (mpr_map(&r, &pairs) < 0)
		lg_die("an error that is not a map");
	for (uint32_t i = 0; i < pairs; i++) {
		if (mpr_str(&r, &k, &kn) < 0)
			lg_die("a bad error map");
		if (kn == 4 && memcmp(k, "kind", 4) == 0 &&
		    mpr_str(&r, &v, &vn) == 0) {
			lg_count_kind(v, vn);
			return 0;
		}
		if (mpr_skip(&r, MPR_MAX_DEPTH) < 0)
			lg_die("a bad error map");
	}
	lg_count_kind("?", 1);
	return 0;
}

static void
lg_redis_answer(const char *buf, size_t len)
{
	size_t n = 1;

	if (buf[0] != '-') {
		lg_check_value(buf, len);
		return;
	}
	while (n < len && buf[n] != ' ' && buf[n] != '\r')
		n++;
	lg_count_kind(buf + 1, n - 1);
}

static void
lg_watch(struct lg_conn *c, int out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
	    .data.ptr = c };

	if (c->want_out == out)
		return;
	c->want_out = out;
	if (epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		lg_die("epoll_ctl: %s", strerror(errno));
}

static void
lg_flush(struct lg_conn *c)
{
	size_t off = 0;

	while (off < c->outlen) {
		ssize_t w = write(c->fd, c->out + off, c->outlen - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0)
			lg_die("write: %s", strerror(errno));
		off += (size_t)w;
	}
	memmove(c->out, c->out + off, c->outlen - off);
	c->outlen -= off;
	lg_watch(c, c->outlen > 0);
}

/* Fill the connection up to its depth, unless the run is ending. */
static void
lg_fill(struct lg_conn *c, uint64_t t)
{
	while (!G.stopping && c->inflight < G.depth && (G.count == 0 ||
	    !G.measuring || G.answers + G.inflight < G.count)) {
		unsigned slot;

		if (G.proto == LG_REDIS) {
			slot = (c->head + c->inflight) % G.depth;
		} else {
			uint32_t id = G.next_msgid++;

			slot = c->inflight;
			c->msgid[slot] = id;
			G.req[3] = (char)(id >> 24), G.req[4] = (char)(id >> 16);
			G.req[5] = (char)(id >> 8), G.req[6] = (char)id;
		}
		c->sent[slot] = t;
		c->inflight++;
		G.inflight++;
		lg_append(&c->out, &c->outlen, &c->outcap, G.req, G.reqlen);
	}
	if (c->outlen > 0)
		lg_flush(c);
}

static void
lg_done(uint64_t sent, uint64_t t)
{
	if (!G.measuring || t > G.t_end)
		return;
	G.answers++;
	lg_hist_add(&G.h, t - sent);
}

/* The slot of a moonbox answer, by msgid; the last slot takes its place. */
static uint64_t
lg_take_slot(struct lg_conn *c, uint32_t msgid)
{
	for (unsigned i = 0; i < c->inflight; i++) {
		if (c->msgid[i] == msgid) {
			uint64_t t = c->sent[i];

			c->inflight--;
			G.inflight--;
			c->msgid[i] = c->msgid[c->inflight];
			c->sent[i] = c->sent[c->inflight];
			return t;
		}
	}
	lg_die("an answer to msgid %u, which was not asked", msgid);
}

/* Every whole answer in the input buffer. */
static void
lg_answers(struct lg_conn *c, uint64_t t)
{
	size_t off = 0;

	for (;;) {
		const char *p = c->in + off;
		size_t left = c->inlen - off, n;

		if (G.proto == LG_REDIS) {
			long r = lg_resp_scan(p, left, 0);

			if (r < 0)
				lg_die("redis sent something that is not RESP");
			if (r == 0)
				break;
			n = (size_t)r;
			if (c->inflight == 0)
				lg_die("redis answered what was not asked");
			lg_redis_answer(p, n);
			lg_done(c->sent[c->head], t);
			c->head = (c->head + 1) % G.depth;
			c->inflight--;
			G.inflight--;
		} else {
			uint32_t id;
			int r = mpr_scan(&c->scan, p, left, MPR_MAX_DEPTH, &n);

			if (r < 0)
				lg_die("moonboxd sent bad msgpack: %s",
				    c->scan.err);
			if (r == 0)
				break;
			mpr_scan_init(&c->scan);
			lg_moonbox_answer(p, n, &id);
			lg_done(lg_take_slot(c, id), t);
		}
		off += n;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
}

static void
lg_read(struct lg_conn *c)
{
	for (;;) {
		size_t room;
		ssize_t got;

		if (c->incap - c->inlen < LG_READ / 2) {
			c->incap = c->incap ? c->incap * 2 : LG_READ;
			if ((c->in = realloc(c->in, c->incap)) == NULL)
				lg_die("out of memory");
		}
		room = c->incap - c->inlen;
		got = read(c->fd, c->in + c->inlen, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			return;
		if (got == 0)
			lg_die("the server closed a connection");
		if (got < 0)
			lg_die("read: %s", strerror(errno));
		c->inlen += (size_t)got;
		if ((size_t)got < room)
			return;		/* a short read: nothing more for now */
	}
}

/* moonboxd over TCP: the first request of a connection gives the token. */
static void
lg_auth(int fd)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char buf[4096];
	size_t len = 0, n;
	struct mpr_scan s;
	int r;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_str(&pk, strlen(G.auth_method));
	msgpack_pack_str_body(&pk, G.auth_method, strlen(G.auth_method));
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str(&pk, strlen(G.token));
	msgpack_pack_str_body(&pk, G.token, strlen(G.token));
	lg_write_all(fd, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	mpr_scan_init(&s);
	while ((r = mpr_scan(&s, buf, len, MPR_MAX_DEPTH, &n)) == 0) {
		ssize_t got = len < sizeof buf ? read(fd, buf + len,
		    sizeof buf - len) : -1;

		if (got <= 0)
			lg_die("no answer to %s", G.auth_method);
		len += (size_t)got;
	}
	/* [1, 0, nil, result]: 94 01 00 c0 ... */
	if (r < 0 || n < 4 || (unsigned char)buf[3] != 0xc0)
		lg_die("%s was refused", G.auth_method);
}

static void
lg_open(void)
{
	G.ep = epoll_create1(EPOLL_CLOEXEC);
	G.c = lg_alloc(G.conns * sizeof *G.c);
	for (unsigned i = 0; i < G.conns; i++) {
		struct lg_conn *c = &G.c[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		c->fd = lg_connect(G.addr);
		if (G.proto == LG_MOONBOX && G.token != NULL)
			lg_auth(c->fd);
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
		mpr_scan_init(&c->scan);
		if (epoll_ctl(G.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			lg_die("epoll_ctl: %s", strerror(errno));
	}
}

/* Run: warm up, measure, then stop sending and wait (up to 10 s) for the
 * answers in flight, so the server is idle for whatever runs next. */
static void
lg_run(void)
{
	struct epoll_event evs[256];
	uint64_t t = lg_now(), warm_end = t + (uint64_t)(G.warmup * 1e9);
	uint64_t drain_end = 0;

	G.measuring = G.warmup <= 0;
	G.t_start = t;
	G.t_end = G.count > 0 ? UINT64_MAX : (G.measuring ? t : warm_end) +
	    (uint64_t)(G.seconds * 1e9);
	for (unsigned i = 0; i < G.conns; i++)
		lg_fill(&G.c[i], t);
	for (;;) {
		int n = epoll_wait(G.ep, evs, 256, 10);

		if (n < 0 && errno != EINTR)
			lg_die("epoll_wait: %s", strerror(errno));
		t = lg_now();
		if (!G.measuring && t >= warm_end) {
			G.measuring = 1;
			G.t_start = t;
		}
		for (int i = 0; i < n; i++) {
			struct lg_conn *c = evs[i].data.ptr;

			if (evs[i].events & EPOLLOUT)
				lg_flush(c);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				lg_read(c);
				lg_answers(c, t);
			}
		}
		if (!G.stopping && (t >= G.t_end ||
		    (G.count > 0 && G.answers >= G.count))) {
			G.stopping = 1;
			if (G.count > 0)
				G.t_end = t;
			drain_end = t + 10000000000ull;
		}
		if (G.stopping) {
			if (G.inflight == 0 || t >= drain_end)
				return;
			continue;
		}
		for (int i = 0; i < n; i++)
			lg_fill(evs[i].data.ptr, t);
	}
}

static void
lg_print_value(void)
{
	char err[128], *json;

	if (!G.have_first) {
		printf(" value=-");
		return;
	}
	if (G.proto == LG_REDIS) {
		/* a bulk string or an integer, as its text */
		const char *p = G.first, *nl = memchr(p, '\n', G.firstlen);

		if (p[0] == '$' && nl != NULL)
			printf(" value=%.*s", (int)(G.firstlen -
			    (size_t)(nl + 1 - p) - 2), nl + 1);
		else
			printf(" value=%.*s", (int)(G.firstlen - 3), p + 1);
		return;
	}
	if ((json = jmp_to_json(G.first, G.firstlen, err, sizeof err)) ==
	    NULL) {
		printf(" value=?");
		return;
	}
	/* a string without its quotes, as Redis gives it */
	if (json[0] == '"')
		printf(" value=%.*s", (int)strlen(json) - 2, json + 1);
	else
		printf(" value=%s", json);
	free(json);
}

static void
lg_report(void)
{
	double secs = (double)(G.t_end - G.t_start) / 1e9;
	static const struct { const char *name; double q; } pct[] = {
		{ "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 },
		{ "p999", 0.999 },
	};

	printf("answers=%llu seconds=%.3f rps=%.1f", (unsigned long long)
	    G.answers, secs, secs > 0 ? (double)G.answers / secs : 0);
	for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++)
		printf(" %s=%.1f", pct[i].name,
		    lg_hist_quantile(&G.h, pct[i].q) / 1e3);
	printf(" max=%.1f errors=%llu mismatches=%llu",
	    (double)G.h.max / 1e3, (unsigned long long)G.errors,
	    (unsigned long long)G.mismatches);
	for (int i = 0; i < LG_MAX_KINDS && G.kinds[i].name[0]; i++)
		printf(" err_%s=%llu", G.kinds[i].name,
		    (unsigned long long)G.kinds[i].n);
	lg_print_value();
	printf("\n");
}

static void __attribute__((noreturn))
lg_usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: loadgen [-c CONNS] [-P DEPTH] [-d SECONDS | -n COUNT] "
	    "[-w SECONDS]\n"
	    "         -m ADDR -r RULE [-i INPUT] [-o OPTIONS] [-T TOKEN "
	    "[-A METHOD]]\n"
	    "       loadgen ... -R ADDR -e SCRIPT [-k NKEYS] [ARG...]\n"
	    "  -m ADDR     moonboxd: a unix socket path, or HOST:PORT\n"
	    "  -r RULE     the rule to invoke; -i its input, -o its options, "
	    "as JSON\n"
	    "              text or @FILE\n"
	    "  -T TOKEN    over TCP, call METHOD (default auth) with [TOKEN] "
	    "first\n"
	    "  -R ADDR     redis-server: a unix socket path, or HOST:PORT\n"
	    "  -e SCRIPT   the Lua file to SCRIPT LOAD and EVALSHA; the "
	    "first NKEYS\n"
	    "              (default 0) ARGs are KEYS, the rest ARGV (@FILE: "
	    "a file's text)\n"
	    "  -c CONNS    connections (default 1)\n"
	    "  -P DEPTH    requests in flight per connection (default 1)\n"
	    "  -d SECONDS  measure for this long (default 5)\n"
	    "  -n COUNT    or until this many answers\n"
	    "  -w SECONDS  warm up first, not measured (default 0)\n"
	    "prints: answers seconds rps p50 p90 p99 p999 max (microseconds) "
	    "errors\n"
	    "        mismatches err_KIND... value\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	const char *rule = NULL, *input = NULL, *opts = NULL, *script = NULL;
	int c, nkeys = 0;

	G.conns = 1, G.depth = 1, G.seconds = 5, G.auth_method = "auth";
	while ((c = getopt(argc, argv, "+c:P:d:n:w:m:r:i:o:T:A:R:e:k:h")) !=
	    -1) {
		switch (c) {
		case 'c': G.conns = (unsigned)atoi(optarg); break;
		case 'P': G.depth = (unsigned)atoi(optarg); break;
		case 'd': G.seconds = atof(optarg); break;
		case 'n': G.count = strtoull(optarg, NULL, 10); break;
		case 'w': G.warmup = atof(optarg); break;
		case 'm': G.proto = LG_MOONBOX, G.addr = optarg; break;
		case 'r': rule = optarg; break;
		case 'i': input = optarg; break;
		case 'o': opts = optarg; break;
		case 'T': G.token = optarg; break;
		case 'A': G.auth_method = optarg; break;
		case 'R': G.proto = LG_REDIS, G.addr = optarg; break;
		case 'e': script = optarg; break;
		case 'k': nkeys = atoi(optarg); break;
		case 'h': lg_usage(0);
		default: lg_usage(2);
		}
	}
	if (G.addr == NULL || G.conns < 1 || G.depth < 1 ||
	    G.depth > LG_MAX_DEPTH || (G.proto == LG_MOONBOX) != (rule != NULL) ||
	    (G.proto == LG_REDIS) != (script != NULL) ||
	    nkeys > argc - optind || (G.proto == LG_MOONBOX && optind < argc))
		lg_usage(2);
	if (G.proto == LG_MOONBOX) {
		lg_moonbox_request(rule, input, opts);
	} else {
		size_t slen;
		char *s = lg_read_file(script, &slen);

		lg_redis_request(s, slen, argv + optind, nkeys, argc - optind);
		free(s);
	}
	lg_open();
	lg_run();
	lg_report();
	return G.errors > 0 || G.mismatches > 0 ? 3 : 0;
}
