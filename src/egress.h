/*
 * egress.h: which addresses outgoing connections may reach (egress.c).
 */
#ifndef MB_EGRESS_H
#define MB_EGRESS_H

#include <stddef.h>
#include <sys/socket.h>

/* 1 if the address is loopback, private (RFC 1918, ULA), link-local,
 * CGNAT (100.64/10), multicast, unspecified, broadcast, reserved, a cloud
 * metadata address, or an IPv4-mapped/compatible/NAT64/6to4 IPv6 address
 * embedding one of those; why then names the range. */
int	egress_forbidden(const struct sockaddr *, socklen_t, char *, size_t);

#endif
