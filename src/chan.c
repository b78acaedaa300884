/*
 * chan.c: length-prefixed frames over a stream socket, with a cap, for
 * processes that wait on one channel at a time (a worker, moonbox run).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "chan.h"
#include "proto.h"

static int
chan_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
chan_send(int fd, const char *frame, size_t n)
{
	if (n < PROTO_FRAME_HEADER || n - PROTO_FRAME_HEADER > PROTO_FRAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	return chan_write_all(fd, frame, n);
}

static long long
chan_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read exactly n bytes before the deadline (< 0: none). 0 at EOF before
 * the first byte, 1 when done, -1 on error. */
static int
chan_read_all(int fd, char *p, size_t n, long long deadline)
{
	size_t got = 0;

	while (got < n) {
		if (deadline >= 0) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			long long left = deadline - chan_now_ms();
			int r;

			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			r = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
			if (r < 0 && errno != EINTR)
				return -1;
			if (r <= 0)
				continue;
		}
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			if (got == 0)
				return 0;
			errno = EPROTO;		/* a frame cut short */
			return -1;
		}
		got += (size_t)r;
	}
	return 1;
}

int
chan_recv(int fd, char **buf, size_t *len, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : chan_now_ms() + timeout_ms;
	unsigned char h[PROTO_FRAME_HEADER];
	uint32_t n;
	int r;

	*buf = NULL;
	if ((r = chan_read_all(fd, (char *)h, sizeof h, deadline)) <= 0)
		return r;
	n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | h[3];
	if (n > PROTO_FRAME_MAX || n == 0) {
		errno = n == 0 ? EPROTO : EMSGSIZE;
		return -1;
	}
	if ((*buf = malloc(n)) == NULL)
		return -1;
	if ((r = chan_read_all(fd, *buf, n, deadline)) <= 0) {
		if (r == 0)
			errno = EPROTO;
		free(*buf);
		*buf = NULL;
		return -1;
	}
	*len = n;
	return 1;
}

#define CHAN_MAX_FDS	2

/* A whole frame and up to two descriptors with it, in one sendmsg. */
int
chan_send_fds(int fd, const char *frame, size_t n, const int *fds, int nfds,
    int flags)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(CHAN_MAX_FDS * sizeof(int))];
	} cm;
	struct iovec iov = { (void *)frame, n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cm.buf,
	    .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	ssize_t w;

	if (nfds < 1 || nfds > CHAN_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	memset(&cm, 0, sizeof cm);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	do
		w = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	if ((size_t)w < n)
		return chan_write_all(fd, frame + w, n - (size_t)w);
	return 0;
}

static void
chan_close_fds(int *fds, int *nfds)
{
	for (int i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
}

/* The header of a frame, with the descriptors that came with it. */
static int
chan_recv_header(int fd, unsigned char *h, int *fds, int *nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(CHAN_MAX_FDS * sizeof(int))];
	} cm;
	struct iovec iov = { h, PROTO_FRAME_HEADER };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
	struct cmsghdr *c;
	ssize_t r;

	*nfds = 0;
	do
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r == 0 ? 0 : -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (*nfds < CHAN_MAX_FDS)
				fds[(*nfds)++] = got;
			else
				close(got);	/* more than we take */
		}
	}
	if ((mh.msg_flags & MSG_CTRUNC) || ((size_t)r < PROTO_FRAME_HEADER &&
	    chan_read_all(fd, (char *)h + r, PROTO_FRAME_HEADER - (size_t)r,
	    -1) <= 0)) {
		chan_close_fds(fds, nfds);
		errno = EPROTO;
		return -1;
	}
	return 1;
}

int
chan_recv_fds(int fd, char **buf, size_t *len, int *fds, int *nfds)
{
	unsigned char h[PROTO_FRAME_HEADER];
	uint32_t n;
	int r;

	*buf = NULL;
	if ((r = chan_recv_header(fd, h, fds, nfds)) <= 0)
		return r;
	n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | h[3];
	if (n > PROTO_FRAME_MAX || n == 0 || (*buf = malloc(n)) == NULL ||
	    chan_read_all(fd, *buf, n, -1) <= 0) {
		free(*buf);
		*buf = NULL;
		chan_close_fds(fds, nfds);
		errno = EPROTO;
		return -1;
	}
	*len = n;
	return 1;
}
