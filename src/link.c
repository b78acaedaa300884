/*
 * link.c: buffered, non-blocking message connections on libevent (link.h).
 * Input accumulates in one buffer that grows as messages need (an idle
 * connection holds a few KiB) and is cut into messages as whole ones
 * arrive; the incremental scanner of mpr.c finds where a msgpack value ends
 * without starting over. Output goes through an evbuffer.
 * Callbacks may close the link: it is freed only once no callback of it
 * is running. Descriptors to send wait in a queue with the stream offset of
 * the byte they go with, so a frame that carries one is never cut into.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "link.h"
#include "proto.h"

#define LINK_READ_CHUNK	(64u << 10)	/* the most one read takes */
#define LINK_READ_MIN	4096		/* room made before a read */
#define LINK_MAX_FDS	64
#define LINK_SEND_FDS	8	/* at one offset: what link_read takes */
#define LINK_OOM_RETRY_MS	20	/* no memory to read into: wait, */
#define LINK_OOM_RETRIES	100	/* at most this many times */

struct link {
	int			 fd;
	enum link_mode		 mode;
	size_t			 max;		/* one message */
	struct event		*rev, *wev;
	struct event		*retry;		/* reading after no memory */
	int			 oom;		/* retries in a row */
	char			*in;
	size_t			 inlen, incap;
	struct mpr_scan		 scan;
	struct evbuffer		*out;
	const struct link_ops	*ops;
	void			*ud;
	int			 busy;		/* in a callback */
	int			 corked;	/* replies wait for the batch */
	int			 dead;		/* closed: free when not busy */
	int			 flush_then_close;
	const char		*close_soon;	/* why, when closing soon */
	int			 paused;
	int			 eof, eof_told;
	const char		*why;
	int			 want_fds;	/* descriptors may come */
	int			 fds[LINK_MAX_FDS];	/* received, not taken */
	int			 nfds;
	struct {
		uint64_t	 at;		/* offset in the output stream */
		int		 fd;
	}			 outfds[LINK_MAX_FDS];	/* to send */
	int			 noutfds;
	uint64_t		 queued, sent;	/* bytes of the output stream */
};

static void link_on_read(evutil_socket_t, short, void *);
static void link_on_write(evutil_socket_t, short, void *);
static void link_on_retry(evutil_socket_t, short, void *);

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
	l->retry = evtimer_new(base, link_on_retry, l);
	if (l->rev != NULL && l->wev != NULL &&
	    event_base_get_npriorities(base) > 1) {
		/* Default to the lowest: the owner raises what must go first. */
		int low = event_base_get_npriorities(base) - 1;

		event_priority_set(l->rev, low);
		event_priority_set(l->wev, low);
	}
	if (l->out == NULL || l->rev == NULL || l->wev == NULL ||
	    l->retry == NULL || evutil_make_socket_nonblocking(fd) < 0 ||
	    event_add(l->rev, NULL) < 0) {
		if (l->out)
			evbuffer_free(l->out);
		if (l->rev)
			event_free(l->rev);
		if (l->wev)
			event_free(l->wev);
		if (l->retry)
			event_free(l->retry);
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
	for (int i = 0; i < l->noutfds; i++)
		close(l->outfds[i].fd);
	event_free(l->rev);
	event_free(l->wev);
	event_free(l->retry);
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
	event_del(l->retry);
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

void
link_close_soon(struct link *l, const char *why)
{
	if (l->dead || l->close_soon != NULL)
		return;
	l->close_soon = why;
	event_del(l->wev);
	event_active(l->rev, EV_TIMEOUT, 0);
}

int
link_closing(const struct link *l)
{
	return l->dead || l->flush_then_close || l->close_soon != NULL;
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
	if (l->dead || l->flush_then_close || l->close_soon != NULL ||
	    l->paused == pause)
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

/* -1 only when nothing was queued: a write event that cannot be added now
 * is added again with the next send (the bytes wait in the buffer). */
static int
link_queue(struct link *l, const void *p, size_t n)
{
	if (evbuffer_add(l->out, p, n) < 0)
		return -1;
	l->queued += n;
	if (!l->corked)		/* else link_uncork writes it */
		(void)event_add(l->wev, NULL);
	return 0;
}

int
link_send(struct link *l, const void *p, size_t n)
{
	if (l->dead || l->flush_then_close || l->close_soon != NULL)
		return -1;
	/* Nothing queued: write now, and wait for the socket only for what
	 * it did not take. This saves the master a poll and a write event's
	 * arming per message; an error is met again on the queued write.
	 * The replies to a batch of messages read at once go together, at
	 * its end (link_drain_input). */
	if (evbuffer_get_length(l->out) == 0 && l->noutfds == 0 &&
	    !l->corked) {
		ssize_t w;

		do
			w = send(l->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (w < 0 && errno == EINTR);
		if (w > 0) {
			l->queued += (uint64_t)w;
			l->sent += (uint64_t)w;
			if ((size_t)w == n)
				return 0;
			p = (const char *)p + w;
			n -= (size_t)w;
		}
	}
	return link_queue(l, p, n);
}

int
link_send_fds(struct link *l, const void *p, size_t n, const int *fds,
    int nfds)
{
	int first = l->noutfds, i;

	if (n == 0 || nfds < 1 || nfds > LINK_SEND_FDS ||
	    l->noutfds + nfds > LINK_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nfds; i++) {
		l->outfds[first + i].at = l->queued;
		if ((l->outfds[first + i].fd = fcntl(fds[i], F_DUPFD_CLOEXEC,
		    0)) < 0)
			break;
	}
	if (i < nfds || l->dead || l->flush_then_close ||
	    l->close_soon != NULL || link_queue(l, p, n) < 0) {
		while (i-- > 0)
			close(l->outfds[first + i].fd);
		return -1;
	}
	l->noutfds += nfds;
	return 0;
}

/* The bytes from the first queued descriptor's offset, with every
 * descriptor due there, up to the next one's offset. */
static ssize_t
link_write_fds(struct link *l)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(LINK_SEND_FDS * sizeof(int))];
	} cm;
	size_t len = evbuffer_get_length(l->out);
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cm.buf };
	struct cmsghdr *c;
	ssize_t w;
	int k = 0;

	while (k < l->noutfds && k < LINK_SEND_FDS && l->outfds[k].at == l->sent)
		k++;
	if (k < l->noutfds && l->outfds[k].at - l->sent < len)
		len = (size_t)(l->outfds[k].at - l->sent);
	if (len > LINK_READ_CHUNK)
		len = LINK_READ_CHUNK;
	if ((iov.iov_base = evbuffer_pullup(l->out, (ev_ssize_t)len)) == NULL)
		return -1;
	iov.iov_len = len;
	memset(&cm, 0, sizeof cm);
	mh.msg_controllen = CMSG_SPACE((size_t)k * sizeof(int));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)k * sizeof(int));
	for (int i = 0; i < k; i++)
		memcpy(CMSG_DATA(c) + i * sizeof(int), &l->outfds[i].fd,
		    sizeof(int));
	if ((w = sendmsg(l->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT)) <= 0)
		return w;
	for (int i = 0; i < k; i++)
		close(l->outfds[i].fd);
	l->noutfds -= k;
	memmove(l->outfds, l->outfds + k, (size_t)l->noutfds *
	    sizeof l->outfds[0]);
	evbuffer_drain(l->out, (size_t)w);
	return w;
}

/* Write what the socket takes now, all of it if it can: the bytes before a
 * descriptor's offset go without it, the byte at it with it. (One write
 * callback sends all it can, as before descriptors were queued: a BEGIN
 * queued for the broker must not wait a turn of the loop behind the
 * INVOKE that follows it on a worker's channel.) */
static ssize_t
link_write(struct link *l)
{
	ssize_t w, total = 0;

	while (evbuffer_get_length(l->out) > 0) {
		if (l->noutfds == 0)
			w = evbuffer_write(l->out, l->fd);
		else if (l->outfds[0].at > l->sent)
			w = evbuffer_write_atmost(l->out, l->fd,
			    (ev_ssize_t)(l->outfds[0].at - l->sent));
		else
			w = link_write_fds(l);
		if (w <= 0)
			return total > 0 ? total : w;
		l->sent += (uint64_t)w;
		total += w;
	}
	return total;
}

int
link_flush(struct link *l)
{
	if (l->dead)
		return -1;
	if (link_write(l) < 0 && errno != EAGAIN && errno != EINTR)
		return -1;
	return evbuffer_get_length(l->out) == 0 ? 0 : 1;
}

static void
link_on_write(evutil_socket_t fd, short what, void *ud)
{
	struct link *l = ud;

	(void)fd, (void)what;
	if (link_write(l) < 0 && errno != EAGAIN && errno != EINTR) {
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

/* The end of a batch: write its replies now, and wait for the socket
 * only for what it did not take. */
static void
link_uncork(struct link *l)
{
	l->corked = 0;
	if (l->dead || l->close_soon != NULL ||
	    evbuffer_get_length(l->out) == 0)
		return;
	if (link_write(l) < 0 && errno != EAGAIN && errno != EINTR)
		link_close(l, strerror(errno));
	else if (evbuffer_get_length(l->out) > 0)
		(void)event_add(l->wev, NULL);
	else if (l->flush_then_close)
		link_close(l, "closed");
}

/* Hand every whole message to the owner; keep the rest. */
static void
link_drain_input(struct link *l)
{
	size_t off = 0, skip;
	long long n = 0;

	l->corked = 1;
	while (!l->dead && !l->paused && l->close_soon == NULL &&
	    (n = link_cut(l, off, &skip)) > 0) {
		l->ops->message(l, l->in + off + skip, (size_t)n, l->ud);
		off += skip + (size_t)n;
	}
	link_uncork(l);
	if (!l->dead && n < 0 && !l->paused) {
		link_close(l, l->why);
		return;
	}
	if (off > 0 && !l->dead) {
		memmove(l->in, l->in + off, l->inlen - off);
		l->inlen -= off;
	}
	/* An idle connection keeps no large buffer after a large message. */
	if (!l->dead && l->inlen == 0 && l->incap > LINK_READ_CHUNK) {
		free(l->in);
		l->in = NULL;
		l->incap = 0;
	}
}

static int
link_grow(struct link *l)
{
	size_t cap = l->incap ? l->incap : LINK_READ_MIN;
	char *p;

	if (l->incap - l->inlen >= LINK_READ_MIN)
		return 0;
	while (cap - l->inlen < LINK_READ_MIN)
		cap *= 2;
	if ((p = realloc(l->in, cap)) == NULL)
		return -1;
	l->in = p;
	l->incap = cap;
	return 0;
}

/* No memory to read into: stop reading for a moment and try again (what
 * the peer sent waits in the socket), a while, before giving up. */
static void
link_wait_memory(struct link *l)
{
	struct timeval tv = { 0, LINK_OOM_RETRY_MS * 1000 };

	if (++l->oom > LINK_OOM_RETRIES || evtimer_add(l->retry, &tv) < 0) {
		link_close(l, "out of memory");
		return;
	}
	event_del(l->rev);
}

static void
link_on_retry(evutil_socket_t fd, short what, void *ud)
{
	struct link *l = ud;

	(void)fd, (void)what;
	if (!l->dead && !l->paused && !l->flush_then_close && !l->eof)
		event_add(l->rev, NULL);
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
	if (l->close_soon != NULL) {
		link_close(l, l->close_soon);
		return;
	}
	if (!(what & EV_TIMEOUT) && !l->eof) {
		if (link_grow(l) < 0) {
			link_wait_memory(l);
			return;
		}
		l->oom = 0;
		r = link_read(l, l->in + l->inlen, l->incap - l->inlen >
		    LINK_READ_CHUNK ? LINK_READ_CHUNK : l->incap - l->inlen);
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
