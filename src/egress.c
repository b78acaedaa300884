/*
 * egress.c: which peer addresses an outgoing connection may reach
 * (egress.h). One table of forbidden ranges, IPv4 and IPv6, each with its
 * name; a second table of the IPv6 forms that embed an IPv4 address
 * (mapped, translated, compatible, NAT64, 6to4), which are judged by the
 * address they embed. Uses only the C library's address parsing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"

struct egress_range {
	const char	*cidr;
	const char	*name;
};

/* First match wins: a narrower range comes before the one containing it. */
static const struct egress_range egress_ranges[] = {
	{ "0.0.0.0/8",		"unspecified, this network" },
	{ "10.0.0.0/8",		"private (RFC 1918)" },
	{ "100.64.0.0/10",	"shared address space, CGNAT (RFC 6598)" },
	{ "127.0.0.0/8",	"loopback" },
	{ "169.254.169.254/32",	"cloud metadata" },
	{ "169.254.0.0/16",	"link-local" },
	{ "172.16.0.0/12",	"private (RFC 1918)" },
	{ "192.0.0.0/24",	"IETF protocol assignments" },
	{ "192.0.2.0/24",	"documentation, TEST-NET-1" },
	{ "192.168.0.0/16",	"private (RFC 1918)" },
	{ "198.18.0.0/15",	"benchmarking" },
	{ "198.51.100.0/24",	"documentation, TEST-NET-2" },
	{ "203.0.113.0/24",	"documentation, TEST-NET-3" },
	{ "224.0.0.0/4",	"multicast" },
	{ "255.255.255.255/32",	"broadcast" },
	{ "240.0.0.0/4",	"reserved" },
	{ "::/128",		"unspecified" },
	{ "::1/128",		"loopback" },
	{ "fd00:ec2::254/128",	"cloud metadata (AWS)" },
	{ "fc00::/7",		"unique local" },
	{ "fe80::/10",		"link-local" },
	{ "fec0::/10",		"site-local" },
	{ "ff00::/8",		"multicast" },
	{ "2001:db8::/32",	"documentation" },
	{ "100::/64",		"discard-only" },
	{ "64:ff9b:1::/48",	"local-use NAT64" },
	{ "2001::/32",		"Teredo" },
};

struct egress_embed {
	const char	*cidr;
	size_t		 at;		/* byte where the IPv4 address starts */
	const char	*name;
};

static const struct egress_embed egress_embeds[] = {
	{ "::ffff:0:0/96",	12,	"IPv4-mapped" },
	{ "::ffff:0:0:0/96",	12,	"IPv4-translated" },
	{ "::/96",		12,	"IPv4-compatible" },
	{ "64:ff9b::/96",	12,	"NAT64" },
	{ "2002::/16",		2,	"6to4" },
};

#define EGRESS_NRANGES	(sizeof egress_ranges / sizeof egress_ranges[0])
#define EGRESS_NEMBEDS	(sizeof egress_embeds / sizeof egress_embeds[0])

/* Parse "addr/bits" into its family, bytes and prefix length. */
static int
egress_parse(const char *cidr, int *family, uint8_t *bytes, unsigned *bits)
{
	char text[64];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : 0;

	if (slash == NULL || n >= sizeof text)
		return -1;
	memcpy(text, cidr, n);
	text[n] = '\0';
	*family = strchr(text, ':') ? AF_INET6 : AF_INET;
	*bits = (unsigned)strtoul(slash + 1, NULL, 10);
	return inet_pton(*family, text, bytes) == 1 ? 0 : -1;
}

static int
egress_prefix(const uint8_t *a, const uint8_t *p, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	if (memcmp(a, p, full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ p[full]) & mask) == 0;
}

/* Whether the address (4 or 16 bytes) lies in the CIDR. */
static int
egress_in(int family, const uint8_t *a, const char *cidr)
{
	uint8_t p[16];
	unsigned bits;
	int f;

	if (egress_parse(cidr, &f, p, &bits) < 0)
		return 0;
	return f == family && egress_prefix(a, p, bits);
}

static const struct egress_range *
egress_find(int family, const uint8_t *a)
{
	size_t i;

	for (i = 0; i < EGRESS_NRANGES; i++)
		if (egress_in(family, a, egress_ranges[i].cidr))
			return &egress_ranges[i];
	return NULL;
}

static int
egress_say(char *why, size_t n, const struct egress_range *r)
{
	if (why != NULL && n > 0)
		snprintf(why, n, "%s (%s)", r->name, r->cidr);
	return 1;
}

/* An IPv6 address embedding an IPv4 one is as forbidden as what it embeds. */
static int
egress_embedded(const uint8_t *a6, char *why, size_t n)
{
	const struct egress_range *r;
	char v4[INET_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < EGRESS_NEMBEDS; i++) {
		if (!egress_in(AF_INET6, a6, egress_embeds[i].cidr))
			continue;
		if ((r = egress_find(AF_INET, a6 + egress_embeds[i].at)) == NULL)
			return 0;
		inet_ntop(AF_INET, a6 + egress_embeds[i].at, v4, sizeof v4);
		if (why != NULL && n > 0)
			snprintf(why, n, "%s address embedding %s: %s (%s)",
			    egress_embeds[i].name, v4, r->name, r->cidr);
		return 1;
	}
	return 0;
}

static int
egress_refuse(char *why, size_t n, const char *what)
{
	if (why != NULL && n > 0)
		snprintf(why, n, "%s", what);
	return 1;
}

int
egress_forbidden(const struct sockaddr *sa, socklen_t len, char *why,
    size_t n)
{
	const struct egress_range *r;
	const uint8_t *a;
	int family;

	if (sa == NULL || len < sizeof(sa_family_t))
		return egress_refuse(why, n, "no address");
	family = sa->sa_family;
	if (family == AF_INET && len >= sizeof(struct sockaddr_in))
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	else if (family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	else
		return egress_refuse(why, n, "not an IPv4 or IPv6 address");
	if ((r = egress_find(family, a)) != NULL)
		return egress_say(why, n, r);
	return family == AF_INET6 && egress_embedded(a, why, n);
}
