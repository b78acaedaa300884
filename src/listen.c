/*
 * listen.c: the daemon's listening sockets. A unix socket left by a daemon
 * that is gone is replaced, one another daemon answers on is an error. A
 * TCP socket says whether it is bound to loopback only: bound anywhere
 * else, its listener needs a token (settings.c, rpc.c, httpapi.c). Tokens
 * come from files others cannot read and are compared in constant time
 * (libcrypto's CRYPTO_memcmp).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <openssl/crypto.h>

#include "listen.h"
#include "settings.h"

/* A listening unix socket at path. A stale socket is replaced; a live one
 * means another daemon, and is an error. */
int
listen_unix(const char *path, mode_t mode, const char *group, char *err,
    size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[SET_SOCKET_PATH_MAX];
	struct group *gr = NULL;
	int fd, probe;

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	snprintf(dir, sizeof dir, "%s", path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		return snprintf(err, len, "%s: cannot create its directory: %s",
		    path, strerror(errno)), -1;
	if (group[0] != '\0' && (gr = getgrnam(group)) == NULL)
		return snprintf(err, len, "%s: no group %s", path, group), -1;
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		int live = connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0;

		close(probe);
		if (live)
			return snprintf(err, len, "%s: another moonboxd is "
			    "listening there", path), -1;
	}
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    chmod(path, mode) < 0 ||
	    (gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) < 0) ||
	    listen(fd, 128) < 0) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
listen_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) &&
		    a->s6_addr[12] == 127);
	}
	return 0;
}

int
listen_tcp(const char *host, int port, int *loopback, char *err, size_t len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
	    AI_NUMERICSERV }, *ai, *a;
	char service[8];
	int fd = -1, one = 1, r;

	snprintf(service, sizeof service, "%d", port);
	if ((r = getaddrinfo(host, service, &hints, &ai)) != 0)
		return snprintf(err, len, "%s:%d: %s", host, port,
		    gai_strerror(r)), -1;
	for (a = ai; a != NULL && fd < 0; a = a->ai_next) {
		if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
		    a->ai_protocol)) < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof one) < 0 || bind(fd, a->ai_addr, a->ai_addrlen) < 0 ||
		    listen(fd, 128) < 0) {
			snprintf(err, len, "%s:%d: %s", host, port,
			    strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		*loopback = listen_is_loopback(a->ai_addr);
	}
	freeaddrinfo(ai);
	return fd;
}

int
listen_token(const char *path, char *tok, size_t cap, char *err, size_t len)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return snprintf(err, len, "%s: readable by others (mode %04o): "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 07777)), -1;
	}
	n = read(fd, tok, cap - 1);
	close(fd);
	if (n < 0)
		return snprintf(err, len, "%s: %s", path, strerror(errno)), -1;
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		n--;
	tok[n] = '\0';
	if (n < LISTEN_TOKEN_MIN || memchr(tok, '\0', (size_t)n) != NULL)
		return snprintf(err, len, "%s: a token is at least %d bytes, on "
		    "one line", path, LISTEN_TOKEN_MIN), -1;
	return 0;
}

int
listen_token_ok(const char *want, const char *got, size_t n)
{
	size_t wn = strlen(want);

	/* Lengths differ: still compare, so the time says nothing. */
	if (n != wn) {
		CRYPTO_memcmp(want, want, wn);
		return 0;
	}
	return CRYPTO_memcmp(want, got, n) == 0;
}
