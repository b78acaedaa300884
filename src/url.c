/*
 * url.c: URLs and URL patterns (url.h). libcurl's URL API parses a URL,
 * decodes its host and removes its dot segments; this file then holds it
 * to a stricter shape than curl's: printable ASCII, http or https, a host
 * that is a DNS name or an address literal in its one canonical form, no
 * userinfo, no zone id, a port from 1, a path whose escapes are well formed
 * and which has no dot segment even once or twice decoded. The normalized
 * URL is built from the checked parts and must parse back to itself.
 * Patterns are read here by hand, since curl refuses their '*'.
 * Uses libcurl.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "url.h"

static const struct url_scheme {
	const char	*name;
	int		 port;
} url_schemes[] = {
	{ "http", 80 },
	{ "https", 443 },
};

/* A URL's parts as curl gives them; absent parts are NULL. */
struct url_raw {
	char	*scheme, *user, *password, *options, *host, *zone, *port;
	char	*path, *query;
};

static const struct url_part {
	CURLUPart	 part;
	size_t		 off;
	unsigned	 flags;
} url_parts[] = {
	{ CURLUPART_SCHEME,	offsetof(struct url_raw, scheme),	0 },
	{ CURLUPART_USER,	offsetof(struct url_raw, user),		0 },
	{ CURLUPART_PASSWORD,	offsetof(struct url_raw, password),	0 },
	{ CURLUPART_OPTIONS,	offsetof(struct url_raw, options),	0 },
	{ CURLUPART_HOST,	offsetof(struct url_raw, host),		0 },
	{ CURLUPART_ZONEID,	offsetof(struct url_raw, zone),		0 },
	{ CURLUPART_PORT,	offsetof(struct url_raw, port),
	    CURLU_DEFAULT_PORT },
	{ CURLUPART_PATH,	offsetof(struct url_raw, path),		0 },
	{ CURLUPART_QUERY,	offsetof(struct url_raw, query),	0 },
};

#define URL_NPARTS	(sizeof url_parts / sizeof url_parts[0])

static int
url_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static char
url_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int
url_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
url_hex(char c)
{
	if (url_is_digit(c))
		return c - '0';
	c = url_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
url_default_port(const char *scheme)
{
	for (size_t i = 0; i < sizeof url_schemes / sizeof url_schemes[0]; i++)
		if (strcmp(url_schemes[i].name, scheme) == 0)
			return url_schemes[i].port;
	return 0;
}

/* The length of "http://" or "https://" (any case) at s, and the scheme in
 * lower case; 0 if s starts with neither. */
static size_t
url_scheme_prefix(const char *s, char scheme[6])
{
	for (size_t i = 0; i < sizeof url_schemes / sizeof url_schemes[0]; i++) {
		size_t n = strlen(url_schemes[i].name);

		if (strncasecmp(s, url_schemes[i].name, n) == 0 &&
		    strncmp(s + n, "://", 3) == 0) {
			memcpy(scheme, url_schemes[i].name, n + 1);
			return n + 3;
		}
	}
	return 0;
}

/* Printable ASCII only: no space, control, NUL or byte past 0x7e. */
static int
url_ascii(const char *s, size_t n, char *err, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f)
			continue;
		return url_fail(err, len, "byte %zu is %s: a URL holds "
		    "printable ASCII only; percent-encode the rest", i + 1,
		    c == 0 ? "a NUL" : c == ' ' ? "a space" : c < 0x20 ||
		    c == 0x7f ? "a control character" : "not ASCII");
	}
	return 0;
}

/* Before curl sees it: a scheme we take, a host right after "//" (curl
 * would read "https:///x" as host x), no userinfo. */
static int
url_precheck(const char *in, size_t n, char scheme[6], char *err, size_t len)
{
	size_t p;

	if (n > URL_MAX)
		return url_fail(err, len, "longer than %d bytes", URL_MAX);
	if (url_ascii(in, n, err, len) < 0)
		return -1;
	if ((p = url_scheme_prefix(in, scheme)) == 0)
		return url_fail(err, len, "the URL must start with http:// "
		    "or https://");
	if (p == n || strchr("/\\?#:", in[p]) != NULL)
		return url_fail(err, len, "the URL has no host after //");
	for (size_t i = p; i < n && strchr("/\\?#", in[i]) == NULL; i++)
		if (in[i] == '@')
			return url_fail(err, len, "userinfo (user@host) is "
			    "not allowed in a URL: send credentials in a "
			    "header");
	return 0;
}

static void
url_raw_free(struct url_raw *r)
{
	for (size_t i = 0; i < URL_NPARTS; i++)
		curl_free(*(char **)((char *)r + url_parts[i].off));
	memset(r, 0, sizeof *r);
}

static int
url_curl(const char *in, struct url_raw *r, char *err, size_t len)
{
	CURLU *h = curl_url();
	CURLUcode rc;

	memset(r, 0, sizeof *r);
	if (h == NULL)
		return url_fail(err, len, "out of memory");
	rc = curl_url_set(h, CURLUPART_URL, in, CURLU_DISALLOW_USER);
	for (size_t i = 0; rc == CURLUE_OK && i < URL_NPARTS; i++) {
		char *v = NULL;

		rc = curl_url_get(h, url_parts[i].part, &v, url_parts[i].flags);
		*(char **)((char *)r + url_parts[i].off) = v;
		if (rc != CURLUE_OUT_OF_MEMORY)
			rc = CURLUE_OK;		/* an absent part: NULL */
	}
	curl_url_cleanup(h);
	if (rc != CURLUE_OK) {
		url_raw_free(r);
		return url_fail(err, len, "not a URL libcurl accepts: %s",
		    curl_url_strerror(rc));
	}
	return 0;
}

/* Whether a label reads as a number to URL parsers: decimal, or 0x hex. */
static int
url_numeric_label(const char *s)
{
	size_t i = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; s[i] != '\0'; i++)
			if (url_hex(s[i]) < 0)
				return 0;
		return 1;
	}
	for (; s[i] != '\0'; i++)
		if (!url_is_digit(s[i]))
			return 0;
	return i > 0;
}

/* Lower-case a DNS name in place and check it: labels of letters, digits,
 * '-' and '_', of 1 to 63 bytes, 253 in all. */
static int
url_name_check(char *h, char *err, size_t len)
{
	size_t n = strlen(h), start = 0;

	if (n == 0)
		return url_fail(err, len, "the host is empty");
	if (n > URL_HOST_MAX)
		return url_fail(err, len, "the host is longer than %d bytes",
		    URL_HOST_MAX);
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? url_lower(h[i]) : '.';

		if (c == '.') {
			if (i == start || i - start > 63)
				return url_fail(err, len, "the host %s has a "
				    "label that is empty or longer than 63 "
				    "bytes", h);
			start = i + 1;
			continue;
		}
		h[i] = c;
		if (!(c >= 'a' && c <= 'z') && !url_is_digit(c) && c != '-' &&
		    c != '_')
			return url_fail(err, len, "the host holds '%c': a host "
			    "name is letters, digits, '-', '_' and dots (write "
			    "an international name in its xn-- form)", c);
	}
	return 0;
}

static int
url_ipv6(char *host, size_t cap, int *ip, unsigned char *addr, char *err,
    size_t len)
{
	struct in6_addr a;

	if (inet_pton(AF_INET6, host, &a) != 1)
		return url_fail(err, len, "the host [%s] is not an IPv6 "
		    "address", host);
	memcpy(addr, &a, 16);
	*ip = 6;
	inet_ntop(AF_INET6, &a, host, (socklen_t)cap);	/* canonical */
	return 0;
}

/* A checked host: a name, or an address in its canonical form. A name that
 * ends in a number is an IPv4 address to resolvers, so it must be one,
 * written as four decimal numbers. */
static int
url_host_finish(char *host, size_t cap, int bracketed, int *ip,
    unsigned char *addr, char *err, size_t len)
{
	char canon[INET_ADDRSTRLEN];
	struct in_addr a;
	const char *last;

	*ip = 0;
	if (bracketed)
		return url_ipv6(host, cap, ip, addr, err, len);
	if (url_name_check(host, err, len) < 0)
		return -1;
	last = strrchr(host, '.');
	if (!url_numeric_label(last != NULL ? last + 1 : host))
		return 0;
	if (inet_pton(AF_INET, host, &a) != 1 ||
	    inet_ntop(AF_INET, &a, canon, sizeof canon) == NULL ||
	    strcmp(canon, host) != 0)
		return url_fail(err, len, "the host %s ends in a number but "
		    "is not an IPv4 address in dotted-quad form, like "
		    "192.0.2.1", host);
	memcpy(addr, &a, 4);
	*ip = 4;
	return 0;
}

/* The request's host from curl: brackets off an IPv6 literal, one final
 * dot off a name (the same name to DNS). */
static int
url_host(struct url *u, const struct url_raw *r, char *err, size_t len)
{
	const char *h = r->host;
	size_t n = h != NULL ? strlen(h) : 0;
	int bracketed = n >= 2 && h[0] == '[' && h[n - 1] == ']';

	if (r->zone != NULL)
		return url_fail(err, len, "an IPv6 zone id (%%25%s) is not "
		    "allowed in a URL", r->zone);
	if (bracketed) {
		h++;
		n -= 2;
	} else if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0)
		return url_fail(err, len, "the URL has no host");
	if (n > URL_HOST_MAX)
		return url_fail(err, len, "the host is longer than %d bytes",
		    URL_HOST_MAX);
	memcpy(u->host, h, n);
	u->host[n] = '\0';
	return url_host_finish(u->host, sizeof u->host, bracketed, &u->ip,
	    u->addr, err, len);
}

static int
url_port(struct url *u, const struct url_raw *r, char *err, size_t len)
{
	const char *p = r->port != NULL ? r->port : "";
	char *end;
	long v = strtol(p, &end, 10);

	if (*p == '\0' || *end != '\0' || v < 1 || v > 65535)
		return url_fail(err, len, "port %s: a port is a number from 1 "
		    "to 65535", p);
	u->port = (int)v;
	return 0;
}

/* Upper-case the hex digits of every escape; strict: a '%' that starts no
 * escape is an error. */
static int
url_escapes(char *s, int strict, char *err, size_t len)
{
	for (char *p = s; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (url_hex(p[1]) < 0 || url_hex(p[2]) < 0) {
			if (strict)
				return url_fail(err, len, "a '%%' in the path "
				    "must start an escape of two hex digits, "
				    "like %%2F");
			continue;
		}
		for (int k = 1; k <= 2; k++)
			if (p[k] >= 'a' && p[k] <= 'f')
				p[k] = (char)(p[k] - 'a' + 'A');
		p += 2;
	}
	return 0;
}

/* Decode the escapes of s into out, at most as long; -1 for a NUL. */
static int
url_decode(const char *s, char *out)
{
	for (; *s != '\0'; s++) {
		if (*s == '%' && url_hex(s[1]) >= 0 && url_hex(s[2]) >= 0) {
			*out = (char)(url_hex(s[1]) * 16 + url_hex(s[2]));
			if (*out++ == '\0')
				return -1;
			s += 2;
		} else
			*out++ = *s;
	}
	*out = '\0';
	return 0;
}

/* A "." or ".." segment, segments split at '/' and '\' and each read up to
 * a ';' (as some servers read "..;"). */
static int
url_dot_segment(const char *s)
{
	const char *seg = s;

	for (const char *p = s;; p++) {
		if (*p != '/' && *p != '\\' && *p != '\0')
			continue;
		size_t n = (size_t)(p - seg);
		const char *semi = memchr(seg, ';', n);

		if (semi != NULL)
			n = (size_t)(semi - seg);
		if ((n == 1 || n == 2) && seg[0] == '.' && seg[n - 1] == '.')
			return 1;
		if (*p == '\0')
			return 0;
		seg = p + 1;
	}
}

/* A path a server cannot read as leaving where it seems to be: no dot
 * segment as written, once decoded or twice; no encoded NUL. */
static int
url_path_safe(const char *path, char *err, size_t len)
{
	size_t n = strlen(path) + 1;
	char *once = malloc(n), *twice = malloc(n);
	int r = 0;

	if (once == NULL || twice == NULL)
		r = url_fail(err, len, "out of memory");
	else if (url_decode(path, once) < 0 || url_decode(once, twice) < 0)
		r = url_fail(err, len, "the path holds an encoded NUL (%%00)");
	else if (url_dot_segment(path) || url_dot_segment(once) ||
	    url_dot_segment(twice))
		r = url_fail(err, len, "the path holds a . or .. segment "
		    "(perhaps percent-encoded, or before a ';'): write the "
		    "path it leads to");
	free(once);
	free(twice);
	return r;
}

static int
url_path(struct url *u, const struct url_raw *r, char *err, size_t len)
{
	const char *path = r->path != NULL && r->path[0] == '/' ? r->path : "/";
	int has_query = r->query != NULL && r->query[0] != '\0';
	int n;

	n = snprintf(u->path, sizeof u->path, "%s%s%s", path,
	    has_query ? "?" : "", has_query ? r->query : "");
	if (n < 0 || (size_t)n >= sizeof u->path)
		return url_fail(err, len, "longer than %d bytes", URL_MAX);
	if (url_escapes(u->path, 0, err, len) < 0)
		return -1;
	u->path[strlen(path)] = '\0';		/* the path alone */
	if (url_escapes(u->path, 1, err, len) < 0 ||
	    url_path_safe(u->path, err, len) < 0)
		return -1;
	if (has_query)
		u->path[strlen(path)] = '?';
	return 0;
}

static int
url_build(struct url *u, char *err, size_t len)
{
	char port[8] = "";
	int n;

	if (u->port != url_default_port(u->scheme))
		snprintf(port, sizeof port, ":%d", u->port);
	n = snprintf(u->normalized, sizeof u->normalized, "%s://%s%s%s%s%s",
	    u->scheme, u->ip == 6 ? "[" : "", u->host, u->ip == 6 ? "]" : "",
	    port, u->path);
	if (n < 0 || (size_t)n >= sizeof u->normalized)
		return url_fail(err, len, "longer than %d bytes once "
		    "normalized", URL_MAX);
	return 0;
}

static int
url_parse_once(const char *in, size_t n, struct url *u, char *err,
    size_t len)
{
	struct url_raw r;
	int ok;

	memset(u, 0, sizeof *u);
	if (url_precheck(in, n, u->scheme, err, len) < 0 ||
	    url_curl(in, &r, err, len) < 0)
		return -1;
	if (r.scheme == NULL || strcmp(r.scheme, u->scheme) != 0)
		ok = url_fail(err, len, "the URL must start with http:// or "
		    "https://");
	else if (r.user != NULL || r.password != NULL || r.options != NULL)
		ok = url_fail(err, len, "userinfo (user@host) is not allowed "
		    "in a URL: send credentials in a header");
	else
		ok = url_host(u, &r, err, len) < 0 ||
		    url_port(u, &r, err, len) < 0 ||
		    url_path(u, &r, err, len) < 0 ||
		    url_build(u, err, len) < 0 ? -1 : 0;
	url_raw_free(&r);
	return ok;
}

/* The text curl writes for a URL, as the HTTP engine reads it back:
 * 0 if it is the URL itself. */
static int
url_curl_fixed(const char *in)
{
	CURLU *h = curl_url();
	char *text = NULL;
	int same = 0;

	if (h != NULL && curl_url_set(h, CURLUPART_URL, in,
	    CURLU_DISALLOW_USER | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_URL, &text, 0) == CURLUE_OK)
		same = strcmp(text, in) == 0;
	curl_free(text);
	curl_url_cleanup(h);
	return same ? 0 : -1;
}

int
url_parsen(const char *in, size_t n, struct url *u, char *err, size_t len)
{
	struct url *again;
	int r;

	if (url_parse_once(in, n, u, err, len) < 0)
		return -1;
	/* What the HTTP engine hands to curl must mean the same, and be
	 * written as curl writes it. */
	if ((again = malloc(sizeof *again)) == NULL)
		return url_fail(err, len, "out of memory");
	r = url_parse_once(u->normalized, strlen(u->normalized), again, err,
	    len);
	if (r == 0 && (strcmp(again->normalized, u->normalized) != 0 ||
	    strcmp(again->host, u->host) != 0 || again->port != u->port ||
	    strcmp(again->path, u->path) != 0 ||
	    url_curl_fixed(u->normalized) < 0))
		r = url_fail(err, len, "the URL does not keep its meaning once "
		    "normalized");
	free(again);
	if (r < 0)
		memset(u, 0, sizeof *u);
	return r;
}

int
url_parse(const char *in, struct url *u, char *err, size_t len)
{
	return url_parsen(in, strlen(in), u, err, len);
}

void
url_free(struct url *u)
{
	memset(u, 0, sizeof *u);
}

/* ---- patterns ---- */

static int
url_pattern_port(const char *s, struct url_pattern *p, char *err,
    size_t len)
{
	char *end = NULL;
	long v;

	if (*s == '\0') {
		p->port = URL_PORT_DEFAULT;
		return 0;
	}
	if (strcmp(s, ":*") == 0) {
		p->port = URL_PORT_ANY;
		return 0;
	}
	v = s[0] == ':' && url_is_digit(s[1]) ? strtol(s + 1, &end, 10) : 0;
	if (v < 1 || v > 65535 || *end != '\0')
		return url_fail(err, len, "after the host comes ':' and a port "
		    "from 1 to 65535, or ':*' for any port, then the path");
	p->port = (int)v;
	return 0;
}

static int
url_pattern_wild(struct url_pattern *p, char *err, size_t len)
{
	const char *dot = strchr(p->host, '.');

	if (p->ip)
		return url_fail(err, len, "a '*.' host is a name, not an "
		    "address");
	if (dot == NULL)
		return url_fail(err, len, "*.%s would match names under a "
		    "top-level domain: keep at least two labels, like "
		    "*.example.com", p->host);
	return 0;
}

/* host as written: "[v6]", or a name with maybe a leading "*.". */
static int
url_pattern_hostpart(const char *h, size_t n, struct url_pattern *p,
    char *err, size_t len)
{
	int bracketed = n >= 2 && h[0] == '[' && h[n - 1] == ']';

	if (bracketed) {
		h++;
		n -= 2;
	} else if (n >= 2 && h[0] == '*' && h[1] == '.') {
		p->wild = 1;
		h += 2;
		n -= 2;
	}
	if (memchr(h, '*', n) != NULL)
		return url_fail(err, len, "a '*' in a host stands only for its "
		    "first labels, as in *.example.com");
	if (n > 0 && h[n - 1] == '.' && !bracketed)
		return url_fail(err, len, "write the host without a final dot");
	if (n == 0 || n > URL_HOST_MAX)
		return url_fail(err, len, "the pattern has no host, or one "
		    "longer than %d bytes", URL_HOST_MAX);
	memcpy(p->host, h, n);
	p->host[n] = '\0';
	if (url_host_finish(p->host, sizeof p->host, bracketed, &p->ip,
	    p->addr, err, len) < 0)
		return -1;
	return p->wild ? url_pattern_wild(p, err, len) : 0;
}

/* The authority "host[:port]" of a pattern, n bytes at a. */
static int
url_pattern_authority(const char *a, size_t n, struct url_pattern *p,
    char *err, size_t len)
{
	char port[16];
	size_t h;

	if (memchr(a, '@', n) != NULL)
		return url_fail(err, len, "userinfo (user@host) is never "
		    "allowed in a URL");
	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);

		h = close != NULL ? (size_t)(close - a) + 1 : n;
	} else {
		const char *colon = memchr(a, ':', n);

		h = colon != NULL ? (size_t)(colon - a) : n;
	}
	if (n - h >= sizeof port)
		return url_fail(err, len, "the port of a pattern is a number "
		    "from 1 to 65535, or * for any");
	memcpy(port, a + h, n - h);
	port[n - h] = '\0';
	if (url_pattern_hostpart(a, h, p, err, len) < 0)
		return -1;
	return url_pattern_port(port, p, err, len);
}

static int
url_pattern_path(const char *s, struct url_pattern *p, char *err, size_t len)
{
	if ((p->path = strdup(*s != '\0' ? s : "/")) == NULL)
		return url_fail(err, len, "out of memory");
	if (url_escapes(p->path, 1, err, len) < 0)
		return -1;
	if (url_path_safe(p->path, err, len) < 0)
		return url_fail(err, len, "the path has a . or .. segment, or "
		    "%%00: requests are normalized without them, so it could "
		    "never match");
	return 0;
}

int
url_pattern_parse(const char *in, struct url_pattern *p, char *err,
    size_t len)
{
	size_t n = strlen(in), pre, auth;
	const char *a;

	memset(p, 0, sizeof *p);
	if (n > URL_MAX)
		return url_fail(err, len, "longer than %d bytes", URL_MAX);
	if (url_ascii(in, n, err, len) < 0)
		return -1;
	if ((pre = url_scheme_prefix(in, p->scheme)) == 0)
		return url_fail(err, len, "a URL pattern starts with http:// "
		    "or https://");
	if (strchr(in, '#') != NULL)
		return url_fail(err, len, "a URL pattern has no fragment "
		    "('#'): fragments are never sent");
	a = in + pre;
	auth = strcspn(a, "/");
	if (memchr(a, '?', auth) != NULL || memchr(a, '\\', auth) != NULL)
		return url_fail(err, len, "after the host and port, the path "
		    "starts with '/'");
	if (url_pattern_authority(a, auth, p, err, len) < 0 ||
	    url_pattern_path(a + auth, p, err, len) < 0) {
		url_pattern_free(p);
		return -1;
	}
	return 0;
}

void
url_pattern_free(struct url_pattern *p)
{
	free(p->path);
	p->path = NULL;
}

static int
url_host_matches(const struct url_pattern *p, const struct url *u)
{
	size_t hn, un;

	if (p->ip || u->ip)
		return p->ip == u->ip &&
		    memcmp(p->addr, u->addr, p->ip == 4 ? 4 : 16) == 0;
	if (!p->wild)
		return strcmp(p->host, u->host) == 0;
	hn = strlen(p->host);
	un = strlen(u->host);
	return un > hn + 1 && u->host[un - hn - 1] == '.' &&
	    strcmp(u->host + un - hn, p->host) == 0;
}

int
url_glob(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++resume;
		} else
			return 0;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

enum url_miss
url_pattern_match(const struct url_pattern *p, const struct url *u)
{
	int want = p->port == URL_PORT_DEFAULT ? url_default_port(p->scheme) :
	    p->port;

	if (!url_host_matches(p, u))
		return URL_MISS_HOST;
	if (strcmp(p->scheme, u->scheme) != 0)
		return URL_MISS_SCHEME;
	if (p->port != URL_PORT_ANY && want != u->port)
		return URL_MISS_PORT;
	if (!url_glob(p->path, u->path))
		return URL_MISS_PATH;
	return URL_MATCH;
}

void
url_pattern_host(const struct url_pattern *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", p->wild ? "*." : "",
	    p->ip == 6 ? "[" : "", p->host, p->ip == 6 ? "]" : "");
}
