/*
 * link.c: buffered, non-blocking message connections on libevent (link.h).
 * Input accumulates in one growing buffer and is cut into messages as
 * whole ones arrive; the incremental scanner of mpr.c finds where a msgpack
 * value ends without starting over. Output goes through an evbuffer.
 * Callbacks may close the link: it is freed only once no callback of it
 * is running.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "link.h"
#include "proto.h"

#define LINK_READ_CHUNK	(64u << 10)
#define LINK_MAX_FDS	64

struct link {
	int			 fd;
	enum link_mode		 mode;
	size_t			 max;		/* one message */
	struct event		*rev, *wev;
	char			*in;
	size_t			 inlen, incap;
	struct mpr_scan		 scan;
	struct evbuffer		*out;
	const struct link_ops	*ops;
	void			*ud;
	int			 busy;		/* in a callback */
	int			 dead;		/* closed: free when not busy */
	int			 flush_then_close;
	int			 paused;
	int			 eof, eof_told;
	const char		*why;
	int			 want_fds;	/* descriptors may come */
	int			 fds[LINK_MAX_FDS];	/* received, not taken */
	int			 nfds;
};

static void link_on_read(evutil_socket_t, short, void *);
static void link_on_write(evutil_socket_t, short, void *);

struct link *
link_new(struct event_base *base, int fd, enum link_mode mode, size_t max,
    const struct link_ops *ops, void *ud)
{
	struct link *l = calloc(1, sizeof *l);

	if (l == NULL)
		return NULL;
	l->fd = fd;
	l->mode = mode;
	l->max = max;
	l->ops = ops;
	l->ud = ud;
	mpr_scan_init(&l->scan);
	l->out = evbuffer_new();
	l->rev = event_new(base, fd, EV_READ | EV_PERSIST, link_on_read, l);
	l->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, link_on_write, l);
	if (l->rev != NULL && l->wev != NULL &&
	    event_base_get_npriorities(base) > 1) {
		/* Default to the lowest: the owner raises what must go first. */
		int low = event_base_get_npriorities(base) - 1;

		event_priority_set(l->rev, low);
		event_priority_set(l->wev, low);
	}
	if (l->out == NULL || l->rev == NULL || l->wev == NULL ||
	    evutil_make_socket_nonblocking(fd) < 0 ||
	    event_add(l->rev, NULL) < 0) {
		if (l->out)
			evbuffer_free(l->out);
		if (l->rev)
			event_free(l->rev);
		if (l->wev)
			event_free(l->wev);
		free(l);
		return NULL;
	}
	return l;
}

static void
link_destroy(struct link *l)
{
	for (int i = 0; i < l->nfds; i++)
		close(l->fds[i]);
	event_free(l->rev);
	event_free(l->wev);
	evbuffer_free(l->out);
	close(l->fd);
	free(l->in);
	free(l);
}

/* Mark closed, tell the owner once, free when no callback is running. */
void
link_close(struct link *l, const char *why)
{
	if (l->dead)
		return;
	l->dead = 1;
	l->why = why;
	event_del(l->rev);
	event_del(l->wev);
	l->busy++;
	l->ops->closed(l, why, l->ud);
	l->busy--;
	if (l->busy == 0)
		link_destroy(l);
}

void
link_close_after_flush(struct link *l)
{
	if (evbuffer_get_length(l->out) == 0) {
		link_close(l, "closed");
		return;
	}
	l->flush_then_close = 1;
	event_del(l->rev);
}

int
link_fd(const struct link *l)
{
	return l->fd;
}

/* Higher-priority links are read first when several are ready (the event
 * base must have been given priorities). */
int
link_set_priority(struct link *l, int prio)
{
	return event_priority_set(l->rev, prio) == 0 &&
	    event_priority_set(l->wev, prio) == 0 ? 0 : -1;
}

void
link_accept_fds(struct link *l)
{
	l->want_fds = 1;
}

/* The oldest descriptor received and not yet taken, or -1. */
int
link_pop_fd(struct link *l)
{
	int fd;

	if (l->nfds == 0)
		return -1;
	fd = l->fds[0];
	memmove(l->fds, l->fds + 1, (size_t)--l->nfds * sizeof l->fds[0]);
	return fd;
}

/* read(2), or recvmsg(2) keeping the descriptors that come along. */
static ssize_t
link_read(struct link *l, char *p, size_t n)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(8 * sizeof(int))];
	} cm;
	struct iovec iov = { p, n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
	struct cmsghdr *c;
	ssize_t r;

	if (!l->want_fds)
		return read(l->fd, p, n);
	if ((r = recvmsg(l->fd, &mh, MSG_CMSG_CLOEXEC)) <= 0)
		return r;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (l->nfds < LINK_MAX_FDS)
				l->fds[l->nfds++] = got;
			else
				close(got);
		}
	}
	return r;
}

size_t
link_pending(const struct link *l)
{
	return evbuffer_get_length(l->out);
}

/* Resuming also hands over what was read before the pause: the read
 * callback runs soon, from the loop, not from inside the caller. */
void
link_pause(struct link *l, int pause)
{
	if (l->dead || l->flush_then_close || l->paused == pause)
		return;
	l->paused = pause;
	if (pause) {
		event_del(l->rev);
		return;
	}
	if (!l->eof)
		event_add(l->rev, NULL);
	event_active(l->rev, EV_TIMEOUT, 0);
}

int
link_send(struct link *l, const void *p, size_t n)
{
	if (l->dead || l->flush_then_close)
		return -1;
	if (evbuffer_add(l->out, p, n) < 0)
		return -1;
	return event_add(l->wev, NULL);
}

static void
link_on_write(evutil_socket_t fd, short what, void *ud)
{
	struct link *l = ud;

	(void)fd, (void)what;
	if (evbuffer_write(l->out, l->fd) < 0 && errno != EAGAIN &&
	    errno != EINTR) {
		link_close(l, strerror(errno));
		return;
	}
	if (evbuffer_get_length(l->out) == 0) {
		event_del(l->wev);
		if (l->flush_then_close)
			link_close(l, "closed");
	}
}

/* Length of the first whole message in l->in + off, 0 if none yet, -1 on
 * a violation (l->why set). *skip is the header to skip. */
static long long
link_cut(struct link *l, size_t off, size_t *skip)
{
	size_t have = l->inlen - off, n;
	const unsigned char *h = (const unsigned char *)l->in + off;
	int r;

	if (l->mode == LINK_FRAMED) {
		*skip = PROTO_FRAME_HEADER;
		if (have < PROTO_FRAME_HEADER)
			return 0;
		n = (size_t)h[0] << 24 | (size_t)h[1] << 16 |
		    (size_t)h[2] << 8 | h[3];
		if (n == 0 || n > l->max) {
			l->why = n == 0 ? "empty frame" : "frame over the cap";
			return -1;
		}
		return have - PROTO_FRAME_HEADER >= n ? (long long)n : 0;
	}
	*skip = 0;
	r = mpr_scan(&l->scan, h, have > l->max ? l->max : have, MPR_MAX_DEPTH,
	    &n);
	if (r < 0) {
		l->why = l->scan.err;
		return -1;
	}
	if (r == 0) {
		if (have >= l->max) {
			l->why = "message over the size cap";
			return -1;
		}
		return 0;
	}
	mpr_scan_init(&l->scan);
	return (long long)n;
}

/* Hand every whole message to the owner; keep the rest. */
static void
link_drain_input(struct link *l)
{
	size_t off = 0, skip;
	long long n = 0;

	while (!l->dead && !l->paused && (n = link_cut(l, off, &skip)) > 0) {
		l->ops->message(l, l->in + off + skip, (size_t)n, l->ud);
		off += skip + (size_t)n;
	}
	if (!l->dead && n < 0 && !l->paused) {
		link_close(l, l->why);
		return;
	}
	if (off > 0 && !l->dead) {
		memmove(l->in, l->in + off, l->inlen - off);
		l->inlen -= off;
	}
}

static int
link_grow(struct link *l)
{
	size_t want = l->inlen + LINK_READ_CHUNK, cap = l->incap ? l->incap : 4096;
	char *p;

	if (l->incap >= want)
		return 0;
	while (cap < want)
		cap *= 2;
	if ((p = realloc(l->in, cap)) == NULL)
		return -1;
	l->in = p;
	l->incap = cap;
	return 0;
}

/* Read what there is, hand over whole messages; at end of file, tell the
 * owner (who may still send replies) once the buffered messages are out. */
static void
link_on_read(evutil_socket_t fd, short what, void *ud)
{
	struct link *l = ud;
	ssize_t r = -1;
	int err = 0;

	(void)fd;
	if (!(what & EV_TIMEOUT) && !l->eof) {
		if (link_grow(l) < 0) {
			link_close(l, "out of memory");
			return;
		}
		r = link_read(l, l->in + l->inlen, LINK_READ_CHUNK);
		err = r < 0 ? errno : 0;
		if (r > 0)
			l->inlen += (size_t)r;
		else if (r == 0 || (err != EAGAIN && err != EINTR)) {
			l->eof = 1;
			event_del(l->rev);
		}
	}
	l->busy++;
	link_drain_input(l);
	if (!l->dead && l->eof && !l->paused && !l->eof_told) {
		l->eof_told = 1;
		if (err != 0 || l->ops->eof == NULL)
			link_close(l, err != 0 ? strerror(err) : "end of file");
		else
			l->ops->eof(l, l->ud);
	}
	l->busy--;
	if (l->dead && l->busy == 0)
		link_destroy(l);
}
