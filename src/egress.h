/*
 * egress.h: which addresses outgoing connections may reach (egress.c).
 */
#ifndef MB_EGRESS_H
#define MB_EGRESS_H

#include <stddef.h>
#include <sys/socket.h>

/* 1 if the address is loopback, private (RFC 1918, ULA), link-local,
 * CGNAT (100.64/10), multicast, unspecified, broadcast, reserved,
 * documentation, benchmarking, Teredo, a cloud metadata address, or an
 * IPv4-mapped/translated/compatible/NAT64/6to4 IPv6 address embedding one
 * of those; also 1 for anything that is not an IPv4 or IPv6 address. why
 * (NULL: not wanted) then names the range: "loopback (127.0.0.0/8)". */
int	egress_forbidden(const struct sockaddr *, socklen_t, char *, size_t);

#endif
