/*
 * unit-egress.c: which addresses an outgoing connection may reach
 * (egress.c). Every forbidden range at both of its edges and just past
 * them, the IPv6 forms that embed an IPv4 address, public addresses, and
 * what is not an internet address at all.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "egress.h"
#include "tap.h"

/* An address and the range that refuses it; NULL: allowed. */
static const struct {
	const char	*addr;
	const char	*range;
} cases[] = {
	{ "0.0.0.0",		"0.0.0.0/8" },
	{ "0.255.255.255",	"0.0.0.0/8" },
	{ "1.0.0.0",		NULL },
	{ "9.255.255.255",	NULL },
	{ "10.0.0.0",		"10.0.0.0/8" },
	{ "10.255.255.255",	"10.0.0.0/8" },
	{ "11.0.0.0",		NULL },
	{ "100.63.255.255",	NULL },
	{ "100.64.0.0",		"100.64.0.0/10" },
	{ "100.100.100.200",	"100.64.0.0/10" },	/* Alibaba metadata */
	{ "100.127.255.255",	"100.64.0.0/10" },
	{ "100.128.0.0",	NULL },
	{ "126.255.255.255",	NULL },
	{ "127.0.0.0",		"127.0.0.0/8" },
	{ "127.0.0.1",		"127.0.0.0/8" },
	{ "127.255.255.255",	"127.0.0.0/8" },
	{ "128.0.0.0",		NULL },
	{ "169.253.255.255",	NULL },
	{ "169.254.0.0",	"169.254.0.0/16" },
	{ "169.254.169.253",	"169.254.0.0/16" },
	{ "169.254.169.254",	"169.254.169.254/32" },
	{ "169.254.169.255",	"169.254.0.0/16" },
	{ "169.254.255.255",	"169.254.0.0/16" },
	{ "169.255.0.0",	NULL },
	{ "172.15.255.255",	NULL },
	{ "172.16.0.0",		"172.16.0.0/12" },
	{ "172.31.255.255",	"172.16.0.0/12" },
	{ "172.32.0.0",		NULL },
	{ "191.255.255.255",	NULL },
	{ "192.0.0.0",		"192.0.0.0/24" },
	{ "192.0.0.255",	"192.0.0.0/24" },
	{ "192.0.1.0",		NULL },
	{ "192.0.1.255",	NULL },
	{ "192.0.2.0",		"192.0.2.0/24" },
	{ "192.0.2.255",	"192.0.2.0/24" },
	{ "192.0.3.0",		NULL },
	{ "192.167.255.255",	NULL },
	{ "192.168.0.0",	"192.168.0.0/16" },
	{ "192.168.255.255",	"192.168.0.0/16" },
	{ "192.169.0.0",	NULL },
	{ "198.17.255.255",	NULL },
	{ "198.18.0.0",		"198.18.0.0/15" },
	{ "198.19.255.255",	"198.18.0.0/15" },
	{ "198.20.0.0",		NULL },
	{ "198.51.99.255",	NULL },
	{ "198.51.100.0",	"198.51.100.0/24" },
	{ "198.51.100.255",	"198.51.100.0/24" },
	{ "198.51.101.0",	NULL },
	{ "203.0.112.255",	NULL },
	{ "203.0.113.0",	"203.0.113.0/24" },
	{ "203.0.113.255",	"203.0.113.0/24" },
	{ "203.0.114.0",	NULL },
	{ "223.255.255.255",	NULL },
	{ "224.0.0.0",		"224.0.0.0/4" },
	{ "239.255.255.255",	"224.0.0.0/4" },
	{ "240.0.0.0",		"240.0.0.0/4" },
	{ "255.255.255.254",	"240.0.0.0/4" },
	{ "255.255.255.255",	"255.255.255.255/32" },
	{ "8.8.8.8",		NULL },
	{ "1.1.1.1",		NULL },
	{ "93.184.216.34",	NULL },

	{ "::",			"::/128" },
	{ "::1",		"::1/128" },
	{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
	{ "fc00::",		"fc00::/7" },
	{ "fd00:ec2::253",	"fc00::/7" },
	{ "fd00:ec2::254",	"fd00:ec2::254/128" },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/7" },
	{ "fe00::",		NULL },
	{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
	{ "fe80::",		"fe80::/10" },
	{ "fe80::1",		"fe80::/10" },
	{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10" },
	{ "fec0::",		"fec0::/10" },
	{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::/10" },
	{ "ff00::",		"ff00::/8" },
	{ "ff02::1",		"ff00::/8" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::/8" },
	{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
	{ "2001:db8::",		"2001:db8::/32" },
	{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32" },
	{ "2001:db9::",		NULL },
	{ "100::",		"100::/64" },
	{ "100::ffff:ffff:ffff:ffff", "100::/64" },
	{ "100:0:0:1::",	NULL },
	{ "ff::ffff:ffff:ffff:ffff", NULL },
	{ "64:ff9b:1::",	"64:ff9b:1::/48" },
	{ "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1::/48" },
	{ "2001::",		"2001::/32" },
	{ "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/32" },
	{ "2001:1::",		NULL },
	{ "2606:4700:4700::1111", NULL },
	{ "2a00:1450:4001:82b::200e", NULL },

	/* IPv6 forms that embed an IPv4 address: as forbidden as it is. */
	{ "::ffff:127.0.0.1",	"IPv4-mapped address embedding 127.0.0.1" },
	{ "::ffff:10.1.2.3",	"10.0.0.0/8" },
	{ "::ffff:169.254.169.254", "169.254.169.254/32" },
	{ "::ffff:0.0.0.0",	"0.0.0.0/8" },
	{ "::ffff:8.8.8.8",	NULL },
	{ "::ffff:0:127.0.0.1",	"IPv4-translated address embedding 127.0.0.1" },
	{ "::ffff:0:8.8.8.8",	NULL },
	{ "::127.0.0.1",	"IPv4-compatible address embedding 127.0.0.1" },
	{ "::2",		"0.0.0.0/8" },
	{ "::8.8.8.8",		NULL },
	{ "64:ff9b::127.0.0.1",	"NAT64 address embedding 127.0.0.1" },
	{ "64:ff9b::192.168.1.1", "192.168.0.0/16" },
	{ "64:ff9b::8.8.8.8",	NULL },
	{ "2002:7f00:1::",	"6to4 address embedding 127.0.0.1" },
	{ "2002:a9fe:a9fe::1",	"169.254.169.254/32" },
	{ "2002:c0a8:101::",	"192.168.0.0/16" },
	{ "2002:808:808::",	NULL },
};

#define NCASES	(sizeof cases / sizeof cases[0])

static socklen_t
make_addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return sizeof *sin;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return sizeof *sin6;
	}
	return 0;
}

static void
check(const char *addr, const char *range)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, &ss);
	char why[256] = "";
	int bad;

	if (len == 0) {
		ok(0, "the test's own address %s parses", addr);
		return;
	}
	bad = egress_forbidden((struct sockaddr *)&ss, len, why, sizeof why);
	if (range == NULL) {
		ok(!bad, "%s may be reached", addr);
		if (bad)
			diag("refused as %s", why);
		return;
	}
	ok(bad && strstr(why, range) != NULL, "%s is refused, naming %s",
	    addr, range);
	if (!bad || strstr(why, range) == NULL)
		diag("got %d, \"%s\"", bad, why);
}

static void
check_not_ip(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char why[128] = "";

	ok(egress_forbidden((struct sockaddr *)&sun, sizeof sun, why,
	    sizeof why) && strstr(why, "not an IPv4 or IPv6") != NULL,
	    "a unix socket address is refused as not an internet address");
	sin.sin_addr.s_addr = htonl(0x08080808);
	ok(egress_forbidden((struct sockaddr *)&sin, sizeof sin - 1, NULL, 0),
	    "an IPv4 address too short to hold one is refused");
	ok(egress_forbidden(NULL, 0, why, sizeof why),
	    "no address at all is refused");
	ok(!egress_forbidden((struct sockaddr *)&sin, sizeof sin, NULL, 0),
	    "why may be NULL when the caller does not want it");
}

static void
check_short_why(void)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr("127.0.0.1", &ss);
	char why[8];

	memset(why, 'x', sizeof why);
	ok(egress_forbidden((struct sockaddr *)&ss, len, why, sizeof why) &&
	    why[sizeof why - 1] == '\0', "a short why buffer is cut and ended");
}

int
main(void)
{
	size_t i;

	for (i = 0; i < NCASES; i++)
		check(cases[i].addr, cases[i].range);
	check_not_ip();
	check_short_why();
	return done_testing();
}
