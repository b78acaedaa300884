/*
 * listen.h: the daemon's listening sockets (listen.c): unix sockets with a
 * mode and group, TCP sockets that know whether they are bound to loopback
 * only, and the bearer tokens that guard TCP listeners bound elsewhere.
 */
#ifndef MB_LISTEN_H
#define MB_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

#define LISTEN_TOKEN_MIN	16	/* bytes of a token */
#define LISTEN_TOKEN_MAX	256

int	listen_unix(const char *, mode_t, const char *, char *, size_t);
/* Bind host:port; *loopback says whether every address bound is one. */
int	listen_tcp(const char *, int, int *, char *, size_t);
/* Read a token from a file readable by its owner only. */
int	listen_token(const char *, char *, size_t, char *, size_t);
/* Compare a presented token with the expected one in constant time. */
int	listen_token_ok(const char *, const char *, size_t);

#endif
