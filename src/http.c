/*
 * http.c: outgoing HTTP for http.request (http.h). libcurl's multi
 * interface bound to a libevent event_base: libcurl says which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION) and when to wake it up
 * (CURLMOPT_TIMERFUNCTION); libevent says when they are ready and we pass
 * that on with curl_multi_socket_action, so a slow call holds up nothing.
 *
 * A call is checked before any connection (method, URL, headers); its peer
 * address is checked with egress.c when libcurl opens a socket for it and
 * again once connected (or reusing a connection), before a byte of the
 * request is sent. Redirects are followed here, one hop at a time, each
 * resolved with libcurl's URL API and put to the caller's redirect_ok.
 * Callbacks run from an event of their own, never from inside libcurl.
 * Uses libcurl (easy, multi and URL APIs), libevent and egress.c.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "egress.h"
#include "http.h"

#define HTTP_METHOD_MAX		32
#define HTTP_TIMEOUT_MAX	(24 * 3600 * 1000ULL)	/* a day */
#define HTTP_SHOW_URL		100	/* bytes of a URL quoted in a message */
#define HTTP_SHOW_NAME		64

struct http_buf {
	char	*p;
	size_t	 len, cap;
};

/* A socket libcurl asked us to watch. */
struct http_sock {
	struct http_engine	*eng;
	struct event		*ev;
	struct http_sock	*prev, *next;
};

struct http_engine {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct http_call	*calls;
	struct http_sock	*socks;
};

struct http_call {
	struct http_engine	*eng;
	struct http_call	*prev, *next;
	CURL			*easy;
	CURLU			*url;		/* this hop's */
	struct curl_slist	*hdrs;		/* as libcurl sends them */
	char			*method;
	char			*body;		/* NULL: none */
	size_t			 bodylen;
	size_t			 max_response;
	uint64_t		 timeout_ms, deadline;
	int			 allow_private, max_redirects, hops;
	int			(*redirect_ok)(void *, const char *, const char *,
				    int *);
	void			*ud;
	http_cb			 cb;
	void			*cbud;
	struct event		*done;		/* runs cb from the loop */
	int			 in_multi, finished, in_cb;
	/* This hop. rhdrs holds "name\0value\0" pairs. */
	struct http_buf		 rbody, rhdrs;
	size_t			 nrhdrs;
	int			 too_large, hdrs_too_large, oom;
	char			 denied[256];
	char			 errbuf[CURL_ERROR_SIZE];
	/* The outcome. */
	struct http_response	 res;
	char			*final_url;	/* curl_free */
	struct http_header	*resh;
};

static void	http_launch(struct http_call *);

/* Buffers, the clock, and caller text quoted in messages. */

static int
http_buf_add(struct http_buf *b, const char *p, size_t n)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *q;

	if (n == 0)
		return 0;
	if (n > b->cap - b->len) {
		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		if ((q = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static uint64_t
http_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Copy text for a message: control characters become '?', and a cut is
 * marked with "...". */
static const char *
http_show(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ?
		    '?' : src[i];
	dst[i] = '\0';
	if (src != NULL && src[i] != '\0' && n > 4)
		memcpy(dst + n - 4, "...", 4);
	return dst;
}

/* Checking a request: method, URL, headers. */

static int
http_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
http_check_method(const char *m, char *msg, size_t n)
{
	char shown[HTTP_METHOD_MAX + 4];
	size_t i, len = m ? strlen(m) : 0;

	if (len == 0) {
		snprintf(msg, n, "no method: give one such as GET or POST");
		return -1;
	}
	for (i = 0; i < len; i++)
		if (!((m[i] >= 'A' && m[i] <= 'Z') || (m[i] >= 'a' && m[i] <= 'z')))
			break;
	if (i == len && len <= HTTP_METHOD_MAX)
		return 0;
	snprintf(msg, n, "method \"%s\" refused: a method is at most %d "
	    "letters, such as GET or POST", http_show(shown, sizeof shown, m),
	    HTTP_METHOD_MAX);
	return -1;
}

static int
http_url_text_ok(const char *u, char *msg, size_t n)
{
	size_t i, len = u ? strlen(u) : 0;

	if (len == 0) {
		snprintf(msg, n, "no URL: give an absolute http or https URL");
		return 0;
	}
	if (len > HTTP_URL_MAX) {
		snprintf(msg, n, "the URL is longer than %d bytes: shorten it",
		    HTTP_URL_MAX);
		return 0;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f) {
			snprintf(msg, n, "the URL holds a space or a control "
			    "character: percent-encode it");
			return 0;
		}
	return 1;
}

static int
http_scheme_ok(CURLU *h, char *msg, size_t n)
{
	char *scheme = NULL;
	int ok;

	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		snprintf(msg, n, "the URL has no scheme: begin it with "
		    "http:// or https://");
		return 0;
	}
	ok = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
	if (!ok)
		snprintf(msg, n, "only http and https URLs are allowed, "
		    "not %.16s:", scheme);
	curl_free(scheme);
	return ok;
}

/* Parse an absolute URL, or one relative to base (a redirect's Location);
 * NULL with a message when it is not an http or https URL we would send. */
static CURLU *
http_parse_url(const char *text, CURLU *base, char *msg, size_t n)
{
	CURLU *h;
	CURLUcode rc;

	if (!http_url_text_ok(text, msg, n))
		return NULL;
	if ((h = base ? curl_url_dup(base) : curl_url()) == NULL) {
		snprintf(msg, n, "out of memory parsing the URL");
		return NULL;
	}
	rc = curl_url_set(h, CURLUPART_URL, text,
	    CURLU_DISALLOW_USER | CURLU_NON_SUPPORT_SCHEME);
	if (rc == CURLUE_USER_NOT_ALLOWED)
		snprintf(msg, n, "the URL carries credentials: send them in an "
		    "Authorization header instead");
	else if (rc != CURLUE_OK)
		snprintf(msg, n, "the URL is not valid (%s): check it",
		    curl_url_strerror(rc));
	if (rc != CURLUE_OK || !http_scheme_ok(h, msg, n)) {
		curl_url_cleanup(h);
		return NULL;
	}
	curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0);
	return h;
}

/* The URL must be as libcurl reads it, since that is what the policy saw:
 * "/a/../b" or "http://x#@y/" would otherwise be judged as one URL and
 * fetched as another. */
static int
http_check_canonical(CURLU *h, const char *url, char *msg, size_t n)
{
	char *text = NULL, shown[HTTP_SHOW_URL];
	int same;

	if (curl_url_get(h, CURLUPART_URL, &text, 0) != CURLUE_OK) {
		snprintf(msg, n, "out of memory reading the URL");
		return -1;
	}
	same = strcmp(text, url) == 0;
	if (!same)
		snprintf(msg, n, "the URL reads as %s: write it that way, the "
		    "policy judges the URL as written",
		    http_show(shown, sizeof shown, text));
	curl_free(text);
	return same ? 0 : -1;
}

int
http_url_canonical(const char *url, char *buf, size_t n)
{
	CURLU *h = http_parse_url(url, NULL, buf, n);
	char *text = NULL;
	int rc = -1;

	if (h == NULL)
		return -1;
	if (curl_url_get(h, CURLUPART_URL, &text, 0) != CURLUE_OK)
		snprintf(buf, n, "out of memory reading the URL");
	else if (strlen(text) >= n)
		snprintf(buf, n, "the URL is too long once read: shorten it");
	else {
		memcpy(buf, text, strlen(text) + 1);
		rc = 0;
	}
	curl_free(text);
	curl_url_cleanup(h);
	return rc;
}

/* The headers the engine sets itself or that would let a caller change
 * how the exchange is framed: refused. */
static const struct {
	const char	*name, *why;
} http_owned[] = {
	{ "Host",		"it comes from the URL" },
	{ "Content-Length",	"it is computed from the body" },
	{ "Transfer-Encoding",	"the body is sent with its length" },
	{ "Connection",		"connections are the engine's to manage" },
	{ "Keep-Alive",		"connections are the engine's to manage" },
	{ "Upgrade",		"protocol upgrades are not supported" },
	{ "TE",			"transfer codings are the engine's to choose" },
	{ "Trailer",		"trailers are not sent" },
	{ "Expect",		"the body is sent without waiting for 100" },
};

#define HTTP_NOWNED	(sizeof http_owned / sizeof http_owned[0])

static int
http_check_name(const char *name, char *msg, size_t n)
{
	char shown[HTTP_SHOW_NAME];
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		if (!http_tchar((unsigned char)name[i]))
			break;
	if (i > 0 && name[i] == '\0')
		return 0;
	snprintf(msg, n, "header name \"%s\" refused: a name is a token of "
	    "letters, digits and !#$%%&'*+-.^_`|~, with no CR, LF, space or "
	    "colon", http_show(shown, sizeof shown, name));
	return -1;
}

static int
http_check_value(const char *name, const char *v, char *msg, size_t n)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    v[i] == 0x7f) {
			snprintf(msg, n, "header %.64s refused: its value holds "
			    "CR, LF or another control character; remove it",
			    name);
			return -1;
		}
	return 0;
}

static int
http_check_owned(const char *name, char *msg, size_t n)
{
	size_t i;

	for (i = 0; i < HTTP_NOWNED; i++)
		if (strcasecmp(name, http_owned[i].name) == 0) {
			snprintf(msg, n, "header %s refused: %s; leave it out",
			    http_owned[i].name, http_owned[i].why);
			return -1;
		}
	return 0;
}

static int
http_check_header(const struct http_header *h, char *msg, size_t n)
{
	if (h->name == NULL || h->value == NULL) {
		snprintf(msg, n, "a header lacks a name or a value: give both");
		return -1;
	}
	if (http_check_name(h->name, msg, n) < 0)
		return -1;
	if (strlen(h->name) + strlen(h->value) > HTTP_HEADER_MAX) {
		snprintf(msg, n, "header %.64s is longer than %d bytes: shorten it",
		    h->name, HTTP_HEADER_MAX);
		return -1;
	}
	if (http_check_value(h->name, h->value, msg, n) < 0)
		return -1;
	return http_check_owned(h->name, msg, n);
}

static int
http_check_headers(const struct http_request *req, char *msg, size_t n)
{
	size_t i;

	if (req->nheaders > HTTP_HEADERS_MAX) {
		snprintf(msg, n, "%zu headers: at most %d may be sent",
		    req->nheaders, HTTP_HEADERS_MAX);
		return -1;
	}
	if (req->nheaders > 0 && req->headers == NULL) {
		snprintf(msg, n, "headers are counted but missing");
		return -1;
	}
	for (i = 0; i < req->nheaders; i++)
		if (http_check_header(&req->headers[i], msg, n) < 0)
			return -1;
	return 0;
}

/* Copying a checked request into the call. */

static int
http_add_line(struct curl_slist **l, const char *line)
{
	struct curl_slist *t = curl_slist_append(*l, line);

	if (t == NULL)
		return -1;
	*l = t;
	return 0;
}

/* "Name: value", or "Name;" which is how libcurl sends an empty value
 * ("Name:" would remove the header instead). */
static int
http_add_header(struct curl_slist **l, const struct http_header *h)
{
	size_t len = strlen(h->name) + strlen(h->value) + 3;
	char *line = malloc(len);
	int rc;

	if (line == NULL)
		return -1;
	if (h->value[0] == '\0')
		snprintf(line, len, "%s;", h->name);
	else
		snprintf(line, len, "%s: %s", h->name, h->value);
	rc = http_add_line(l, line);
	free(line);
	return rc;
}

/* The caller's headers, and nothing libcurl would add unasked: no
 * Expect: 100-continue, no form Content-Type. */
static int
http_copy_headers(struct http_call *c, const struct http_request *req)
{
	int typed = 0;
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		if (http_add_header(&c->hdrs, &req->headers[i]) < 0)
			return -1;
		typed |= strcasecmp(req->headers[i].name, "Content-Type") == 0;
	}
	if (http_add_line(&c->hdrs, "Expect:") < 0)
		return -1;
	return typed ? 0 : http_add_line(&c->hdrs, "Content-Type:");
}

static int
http_copy(struct http_call *c, const struct http_request *req)
{
	uint64_t t = req->timeout_ms ? req->timeout_ms : HTTP_TIMEOUT_DEFAULT_MS;

	c->timeout_ms = t < HTTP_TIMEOUT_MAX ? t : HTTP_TIMEOUT_MAX;
	c->deadline = http_now_ms() + c->timeout_ms;
	c->max_response = req->max_response ? req->max_response :
	    HTTP_RESPONSE_DEFAULT;
	c->allow_private = req->allow_private != 0;
	c->max_redirects = req->max_redirects > 0 ? req->max_redirects : 0;
	c->redirect_ok = req->redirect_ok;
	c->ud = req->ud;
	if ((c->method = strdup(req->method)) == NULL)
		return -1;
	if (req->body != NULL) {
		if ((c->body = malloc(req->bodylen + 1)) == NULL)
			return -1;
		if (req->bodylen > 0)
			memcpy(c->body, req->body, req->bodylen);
		c->bodylen = req->bodylen;
	}
	return http_copy_headers(c, req);
}

static enum http_error
http_prepare(struct http_call *c, const struct http_request *req, char *msg,
    size_t n)
{
	if (http_check_method(req->method, msg, n) < 0)
		return HTTP_BAD_REQUEST;
	if ((c->url = http_parse_url(req->url, NULL, msg, n)) == NULL ||
	    http_check_canonical(c->url, req->url, msg, n) < 0)
		return HTTP_BAD_REQUEST;
	if (http_check_headers(req, msg, n) < 0)
		return HTTP_BAD_REQUEST;
	if (http_copy(c, req) < 0) {
		snprintf(msg, n, "out of memory copying the request");
		return HTTP_FAILED;
	}
	return HTTP_OK;
}

/* libcurl's callbacks for one transfer. */

static size_t
http_on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_call *c = arg;
	size_t n = size * nmemb;

	c->res.bytes_received += n;
	if (n > c->max_response - c->rbody.len) {
		c->too_large = 1;
		return 0;
	}
	if (http_buf_add(&c->rbody, p, n) < 0) {
		c->oom = 1;
		return 0;
	}
	return n;
}

static const char *
http_trim(const char *p, size_t *len)
{
	while (*len > 0 && (*p == ' ' || *p == '\t'))
		p++, (*len)--;
	while (*len > 0 && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return p;
}

static int
http_room(struct http_call *c, size_t more)
{
	if (c->rhdrs.len + more <= HTTP_RESPONSE_HEADER_BYTES)
		return 1;
	c->hdrs_too_large = 1;
	return 0;
}

/* A line starting with a space continues the previous value (obsolete
 * folding): joined with one space. */
static int
http_fold(struct http_call *c, const char *p, size_t len)
{
	p = http_trim(p, &len);
	if (c->nrhdrs == 0 || len == 0)
		return 0;
	if (!http_room(c, len + 1))
		return -1;
	c->rhdrs.p[c->rhdrs.len - 1] = ' ';
	if (http_buf_add(&c->rhdrs, p, len) < 0 ||
	    http_buf_add(&c->rhdrs, "", 1) < 0)
		return c->oom = 1, -1;
	return 0;
}

static int
http_keep_header(struct http_call *c, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len), *v;
	size_t start = c->rhdrs.len, i, vlen;

	if (memchr(p, '\0', len) != NULL)
		return 0;		/* would break the name\0value\0 list */
	if (p[0] == ' ' || p[0] == '\t')
		return http_fold(c, p, len);
	if (colon == NULL || colon == p)
		return 0;		/* not a header: skipped */
	if (c->nrhdrs >= HTTP_RESPONSE_HEADERS_MAX || !http_room(c, len + 2)) {
		c->hdrs_too_large = 1;
		return -1;
	}
	vlen = len - (size_t)(colon + 1 - p);
	v = http_trim(colon + 1, &vlen);
	if (http_buf_add(&c->rhdrs, p, (size_t)(colon - p)) < 0 ||
	    http_buf_add(&c->rhdrs, "", 1) < 0 ||
	    http_buf_add(&c->rhdrs, v, vlen) < 0 ||
	    http_buf_add(&c->rhdrs, "", 1) < 0)
		return c->oom = 1, -1;
	for (i = start; c->rhdrs.p[i] != '\0'; i++)
		if (c->rhdrs.p[i] >= 'A' && c->rhdrs.p[i] <= 'Z')
			c->rhdrs.p[i] += 'a' - 'A';
	c->nrhdrs++;
	return 0;
}

static size_t
http_on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_call *c = arg;
	size_t n = size * nmemb, len = n;

	c->res.bytes_received += n;
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		c->rhdrs.len = 0;	/* a new response: 1xx, or the final */
		c->nrhdrs = 0;
		return n;
	}
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len == 0)
		return n;
	return http_keep_header(c, p, len) < 0 ? 0 : n;
}

static const char *
http_addr_text(const struct sockaddr *sa, char *buf, size_t n)
{
	const void *a = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)n) == NULL)
		snprintf(buf, n, "an address of family %d", sa->sa_family);
	return buf;
}

/* libcurl opens every socket through here: the resolved address is
 * judged before any connection is attempted. */
static curl_socket_t
http_on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_call *c = arg;
	char why[128], ip[INET6_ADDRSTRLEN];

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!c->allow_private &&
	    egress_forbidden(&a->addr, a->addrlen, why, sizeof why)) {
		snprintf(c->denied, sizeof c->denied, "connection to %s "
		    "refused: %s; a policy must name it",
		    http_addr_text(&a->addr, ip, sizeof ip), why);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Whether an address in text (as libcurl reports it) is forbidden. */
static int
http_ip_forbidden(const char *text, char *why, size_t n)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	char ip[INET6_ADDRSTRLEN];

	snprintf(ip, sizeof ip, "%s", text ? text : "");
	ip[strcspn(ip, "%")] = '\0';	/* an IPv6 zone */
	if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1)
		return egress_forbidden((struct sockaddr *)&sin, sizeof sin,
		    why, n);
	if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1)
		return egress_forbidden((struct sockaddr *)&sin6, sizeof sin6,
		    why, n);
	snprintf(why, n, "not a readable address");
	return 1;
}

/* The second line: once connected, or when reusing a connection another
 * call opened, the peer is judged again before the request is sent. */
static int
http_on_prereq(void *arg, char *peer, char *local, int port, int lport)
{
	struct http_call *c = arg;
	char why[128], shown[INET6_ADDRSTRLEN];

	if (c->allow_private || !http_ip_forbidden(peer, why, sizeof why))
		return CURL_PREREQFUNC_OK;
	snprintf(c->denied, sizeof c->denied, "request to %s refused before "
	    "sending: %s; a policy must name it",
	    http_show(shown, sizeof shown, peer), why);
	return CURL_PREREQFUNC_ABORT;
}

/* Setting up one hop. */

static const struct {
	CURLoption	 opt;
	long		 value;
} http_longs[] = {
	{ CURLOPT_NOSIGNAL,		1 },
	{ CURLOPT_FOLLOWLOCATION,	0 },
	{ CURLOPT_SSL_VERIFYPEER,	1 },
	{ CURLOPT_SSL_VERIFYHOST,	2 },
	{ CURLOPT_SSLVERSION,		CURL_SSLVERSION_TLSv1_2 },
	{ CURLOPT_NETRC,		CURL_NETRC_IGNORED },
};

static const struct {
	CURLoption	 opt;
	const char	*value;
} http_strings[] = {
	{ CURLOPT_PROTOCOLS_STR,	"http,https" },
	{ CURLOPT_REDIR_PROTOCOLS_STR,	"http,https" },
	{ CURLOPT_PROXY,		"" },	/* none, whatever the env */
	{ CURLOPT_NOPROXY,		"*" },
};

static CURLcode
http_set_fixed(CURL *e)
{
	CURLcode rc = CURLE_OK;
	size_t i;

	for (i = 0; rc == CURLE_OK && i < sizeof http_longs /
	    sizeof http_longs[0]; i++)
		rc = curl_easy_setopt(e, http_longs[i].opt, http_longs[i].value);
	for (i = 0; rc == CURLE_OK && i < sizeof http_strings /
	    sizeof http_strings[0]; i++)
		rc = curl_easy_setopt(e, http_strings[i].opt,
		    http_strings[i].value);
	return rc;
}

static CURLcode
http_set_callbacks(struct http_call *c)
{
	CURL *e = c->easy;
	CURLcode rc;

	if ((rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, c)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_HEADERDATA, c)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_on_open)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, http_on_prereq)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_PREREQDATA, c)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_PRIVATE, c)))
		return rc;
	return curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
}

/* GET and HEAD go without a body; any other method sends the body, or an
 * empty one, so the server sees Content-Length and does not wait. */
static CURLcode
http_set_method(struct http_call *c)
{
	CURL *e = c->easy;
	CURLcode rc;

	if (strcmp(c->method, "HEAD") == 0)
		return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (strcmp(c->method, "GET") == 0 && c->body == NULL)
		return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if ((rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)c->bodylen)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS,
	    c->body ? c->body : "")))
		return rc;
	if (strcmp(c->method, "POST") == 0)
		return CURLE_OK;
	return curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
}

static CURLcode
http_setup(struct http_call *c, long timeout_ms)
{
	CURL *e = c->easy;
	CURLcode rc;

	curl_easy_reset(e);
	if ((rc = http_set_fixed(e)) || (rc = http_set_callbacks(c)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)c->max_response)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_CURLU, c->url)) ||
	    (rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs)))
		return rc;
	return http_set_method(c);
}

static void
http_hop_reset(struct http_call *c)
{
	c->rbody.len = 0;
	c->rhdrs.len = 0;
	c->nrhdrs = 0;
	c->too_large = c->hdrs_too_large = c->oom = 0;
	c->denied[0] = '\0';
	c->errbuf[0] = '\0';
}

/* Ending a call: the outcome is kept and the callback runs from the loop. */

static void
http_unplug(struct http_call *c)
{
	if (c->in_multi)
		curl_multi_remove_handle(c->eng->multi, c->easy);
	c->in_multi = 0;
}

static const char *
http_find_header(const struct http_call *c, const char *name)
{
	const char *p = c->rhdrs.p, *end = p + c->rhdrs.len;

	while (p != NULL && p < end) {
		const char *v = p + strlen(p) + 1;

		if (strcmp(p, name) == 0)
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

static int
http_list_headers(struct http_call *c)
{
	const char *p = c->rhdrs.p;
	size_t i;

	if (c->nrhdrs == 0)
		return 0;
	if ((c->resh = calloc(c->nrhdrs, sizeof *c->resh)) == NULL)
		return -1;
	for (i = 0; i < c->nrhdrs; i++) {
		c->resh[i].name = p;
		c->resh[i].value = p + strlen(p) + 1;
		p = c->resh[i].value + strlen(c->resh[i].value) + 1;
	}
	c->res.headers = c->resh;
	c->res.nheaders = c->nrhdrs;
	return 0;
}

static void
http_collect(struct http_call *c)
{
	char *ip = NULL;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->res.status);
	if (curl_easy_getinfo(c->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
	    ip != NULL)
		snprintf(c->res.remote_ip, sizeof c->res.remote_ip, "%s", ip);
	if (c->url != NULL)
		curl_url_get(c->url, CURLUPART_URL, &c->final_url, 0);
	c->res.final_url = c->final_url ? c->final_url : "";
	c->res.body = "";
	if (c->res.error == HTTP_OK && c->rbody.len > 0) {
		c->res.body = c->rbody.p;
		c->res.bodylen = c->rbody.len;
	}
	if (http_list_headers(c) < 0 && c->res.error == HTTP_OK) {
		c->res.error = HTTP_FAILED;
		snprintf(c->res.message, sizeof c->res.message,
		    "out of memory listing the response headers");
	}
}

static void
http_finish(struct http_call *c, enum http_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
http_finish(struct http_call *c, enum http_error err, const char *fmt, ...)
{
	va_list ap;

	if (c->finished)
		return;
	c->finished = 1;
	c->res.error = err;
	va_start(ap, fmt);
	vsnprintf(c->res.message, sizeof c->res.message, fmt, ap);
	va_end(ap);
	http_collect(c);
	http_unplug(c);
	event_active(c->done, EV_TIMEOUT, 1);
}

/* What to tell the caller when libcurl ends a hop with an error. */
static const struct {
	CURLcode	 rc;
	const char	*hint;
} http_hints[] = {
	{ CURLE_COULDNT_RESOLVE_HOST,	"check the host name" },
	{ CURLE_COULDNT_CONNECT,	"check the host and port, and that the "
					"server is listening" },
	{ CURLE_PEER_FAILED_VERIFICATION, "the server's certificate must "
					"verify for its name: fix the server" },
	{ CURLE_SSL_CONNECT_ERROR,	"the TLS handshake failed: the server "
					"must speak TLS 1.2 or later" },
	{ CURLE_SSL_CACERT_BADFILE,	"install the Debian package "
					"ca-certificates" },
	{ CURLE_GOT_NOTHING,		"the server closed the connection "
					"without answering" },
	{ CURLE_WEIRD_SERVER_REPLY,	"the server does not speak HTTP there" },
	{ CURLE_RECV_ERROR,		"the connection broke: retry later" },
	{ CURLE_SEND_ERROR,		"the connection broke: retry later" },
};

static const char *
http_hint(CURLcode rc)
{
	size_t i;

	for (i = 0; i < sizeof http_hints / sizeof http_hints[0]; i++)
		if (http_hints[i].rc == rc)
			return http_hints[i].hint;
	return "check the URL and the server";
}

static void
http_fail(struct http_call *c, CURLcode rc)
{
	if (c->denied[0] != '\0' && (rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_ABORTED_BY_CALLBACK))
		http_finish(c, HTTP_DENIED, "%s", c->denied);
	else if (c->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		http_finish(c, HTTP_TOO_LARGE, "the response body passed "
		    "max_response (%zu bytes): raise it or ask for less",
		    c->max_response);
	else if (c->hdrs_too_large)
		http_finish(c, HTTP_TOO_LARGE, "the response passed %d headers "
		    "or %u bytes of them: the server must send fewer",
		    HTTP_RESPONSE_HEADERS_MAX, HTTP_RESPONSE_HEADER_BYTES);
	else if (c->oom)
		http_finish(c, HTTP_FAILED, "out of memory reading the response");
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		http_finish(c, HTTP_TIMEOUT, "no complete response within %llu "
		    "ms: raise timeout_ms or make the server answer sooner",
		    (unsigned long long)c->timeout_ms);
	else
		http_finish(c, HTTP_FAILED, "%s: %s", c->errbuf[0] ?
		    c->errbuf : curl_easy_strerror(rc), http_hint(rc));
}

/* Following a redirect: one more hop, if the caller says so. */

static int
http_is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	    status == 307 || status == 308;
}

static int
http_same_part(CURLU *a, CURLU *b, CURLUPart part)
{
	char *x = NULL, *y = NULL;
	int same;

	curl_url_get(a, part, &x, CURLU_DEFAULT_PORT);
	curl_url_get(b, part, &y, CURLU_DEFAULT_PORT);
	same = x != NULL && y != NULL && strcasecmp(x, y) == 0;
	curl_free(x);
	curl_free(y);
	return same;
}

static int
http_same_origin(CURLU *a, CURLU *b)
{
	return http_same_part(a, b, CURLUPART_SCHEME) &&
	    http_same_part(a, b, CURLUPART_HOST) &&
	    http_same_part(a, b, CURLUPART_PORT);
}

static int
http_is_credential(const char *line)
{
	static const char *const names[] = { "authorization", "cookie",
	    "proxy-authorization" };
	size_t i, len = strcspn(line, ":;");

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == len &&
		    strncasecmp(line, names[i], len) == 0)
			return 1;
	return 0;
}

/* Another origin does not get the caller's credentials. */
static int
http_drop_credentials(struct http_call *c)
{
	struct curl_slist *kept = NULL, *l;

	for (l = c->hdrs; l != NULL; l = l->next)
		if (!http_is_credential(l->data) &&
		    http_add_line(&kept, l->data) < 0) {
			curl_slist_free_all(kept);
			return -1;
		}
	curl_slist_free_all(c->hdrs);
	c->hdrs = kept;
	return 0;
}

/* 303 turns the request into a GET without a body (HEAD stays HEAD);
 * 301, 302, 307 and 308 repeat it as it was. */
static int
http_next_method(struct http_call *c, long status)
{
	char *get;

	if (status != 303 || strcmp(c->method, "HEAD") == 0)
		return 0;
	if ((get = strdup("GET")) == NULL)
		return -1;
	free(c->method);
	c->method = get;
	free(c->body);
	c->body = NULL;
	c->bodylen = 0;
	return 0;
}

/* Take the hop to next: the caller has allowed it. The handle leaves the
 * multi first: the header list and body it points to are about to go. */
static void
http_hop(struct http_call *c, CURLU *next, long status, int allow_private)
{
	http_unplug(c);
	if ((!http_same_origin(c->url, next) && http_drop_credentials(c) < 0) ||
	    http_next_method(c, status) < 0) {
		curl_url_cleanup(next);
		http_finish(c, HTTP_FAILED, "out of memory following a redirect");
		return;
	}
	curl_url_cleanup(c->url);
	c->url = next;
	c->allow_private = allow_private;
	c->hops++;
	http_launch(c);
}

static void
http_redirect(struct http_call *c, long status, const char *location)
{
	char msg[128], shown[HTTP_SHOW_URL];
	const char *method;
	char *url = NULL;
	CURLU *next;
	int priv = 0, ok;

	http_show(shown, sizeof shown, location);
	if (c->hops >= c->max_redirects) {
		http_finish(c, HTTP_FAILED, "more than %d redirects, the last to "
		    "%s: raise max_redirects or call the final URL",
		    c->max_redirects, shown);
		return;
	}
	if ((next = http_parse_url(location, c->url, msg, sizeof msg)) == NULL) {
		http_finish(c, HTTP_DENIED, "redirect to %s refused: %s", shown,
		    msg);
		return;
	}
	if (curl_url_get(next, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		curl_url_cleanup(next);
		http_finish(c, HTTP_FAILED, "out of memory following a redirect");
		return;
	}
	method = status == 303 && strcmp(c->method, "HEAD") != 0 ? "GET" :
	    c->method;
	ok = c->redirect_ok(c->ud, method, url, &priv);
	http_show(shown, sizeof shown, url);
	curl_free(url);
	if (ok)
		http_hop(c, next, status, priv != 0);
	else {
		curl_url_cleanup(next);
		http_finish(c, HTTP_DENIED, "redirect to %s refused by the "
		    "policy: allow that URL there, or call another", shown);
	}
}

/* Count what the hop sent (libcurl knows) and received (our callbacks). */
static void
http_account(struct http_call *c)
{
	curl_off_t up = 0;
	long req = 0;

	curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &req);
	curl_easy_getinfo(c->easy, CURLINFO_SIZE_UPLOAD_T, &up);
	c->res.bytes_sent += (size_t)(req > 0 ? req : 0) +
	    (size_t)(up > 0 ? up : 0);
}

/* A last look at the peer of a completed hop: a response from a forbidden
 * address is never handed over, whatever let it through. */
static int
http_peer_refused(struct http_call *c)
{
	char why[128], *ip = NULL;

	if (c->allow_private ||
	    curl_easy_getinfo(c->easy, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK ||
	    !http_ip_forbidden(ip, why, sizeof why))
		return 0;
	http_finish(c, HTTP_DENIED, "response from %.64s discarded: %s; a "
	    "policy must name it", ip ? ip : "?", why);
	return 1;
}

static void
http_hop_done(struct http_call *c, CURLcode rc)
{
	const char *location = NULL;
	long status = 0;

	http_account(c);
	if (rc != CURLE_OK) {
		http_fail(c, rc);
		return;
	}
	if (http_peer_refused(c))
		return;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (http_is_redirect(status))
		location = http_find_header(c, "location");
	if (location == NULL || c->redirect_ok == NULL || c->max_redirects == 0)
		http_finish(c, HTTP_OK, "%s", "");
	else
		http_redirect(c, status, location);
}

static void
http_launch(struct http_call *c)
{
	uint64_t now = http_now_ms();
	CURLMcode mc;
	CURLcode rc;

	if (now >= c->deadline) {
		http_finish(c, HTTP_TIMEOUT, "no complete response within %llu "
		    "ms: raise timeout_ms or make the server answer sooner",
		    (unsigned long long)c->timeout_ms);
		return;
	}
	http_hop_reset(c);
	if ((rc = http_setup(c, (long)(c->deadline - now))) != CURLE_OK) {
		http_finish(c, HTTP_FAILED, "libcurl refused an option (%s): "
		    "it must be 7.85 or later", curl_easy_strerror(rc));
		return;
	}
	if ((mc = curl_multi_add_handle(c->eng->multi, c->easy)) != CURLM_OK) {
		http_finish(c, HTTP_FAILED, "libcurl cannot start the request: "
		    "%s", curl_multi_strerror(mc));
		return;
	}
	c->in_multi = 1;
}

/* libcurl and libevent together. */

static void
http_drain(struct http_engine *eng)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(eng->multi, &left)) != NULL) {
		CURLcode rc = m->data.result;
		char *p = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
		if (p != NULL)
			http_hop_done((struct http_call *)(void *)p, rc);
	}
}

static void
http_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct http_engine *eng = arg;
	int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) |
	    (what & EV_WRITE ? CURL_CSELECT_OUT : 0), running;

	curl_multi_socket_action(eng->multi, fd, flags, &running);
	http_drain(eng);
}

static void
http_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_engine *eng = arg;
	int running;

	curl_multi_socket_action(eng->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_drain(eng);
}

static int
http_on_curl_timer(CURLM *multi, long ms, void *arg)
{
	struct http_engine *eng = arg;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms < 0)
		return evtimer_del(eng->timer) < 0 ? -1 : 0;
	return evtimer_add(eng->timer, &tv) < 0 ? -1 : 0;
}

static struct http_sock *
http_sock_new(struct http_engine *eng)
{
	struct http_sock *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->eng = eng;
	s->next = eng->socks;
	if (eng->socks != NULL)
		eng->socks->prev = s;
	eng->socks = s;
	return s;
}

static void
http_sock_free(struct http_sock *s)
{
	if (s == NULL)
		return;
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->eng->socks = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	free(s);
}

static int
http_on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct http_engine *eng = arg;
	struct http_sock *s = sockp;
	short kind = (short)(EV_PERSIST |
	    (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0));

	if (what == CURL_POLL_REMOVE) {
		http_sock_free(s);
		curl_multi_assign(eng->multi, fd, NULL);
		return 0;
	}
	if (s == NULL && (s = http_sock_new(eng)) == NULL)
		return -1;
	curl_multi_assign(eng->multi, fd, s);
	if (s->ev != NULL)
		event_free(s->ev);
	s->ev = event_new(eng->base, fd, kind, http_on_ready, eng);
	return s->ev != NULL && event_add(s->ev, NULL) == 0 ? 0 : -1;
}

/* Calls. */

static void
http_call_free(struct http_call *c)
{
	http_unplug(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->eng->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_url_cleanup(c->url);
	curl_slist_free_all(c->hdrs);
	if (c->done != NULL)
		event_free(c->done);
	curl_free(c->final_url);
	free(c->method);
	free(c->body);
	free(c->rbody.p);
	free(c->rhdrs.p);
	free(c->resh);
	free(c);
}

static void
http_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct http_call *c = arg;

	c->in_cb = 1;
	c->cb(c->cbud, &c->res);
	http_call_free(c);
}

static struct http_call *
http_call_new(struct http_engine *eng, http_cb cb, void *ud)
{
	struct http_call *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->eng = eng;
	c->cb = cb;
	c->cbud = ud;
	c->next = eng->calls;
	if (eng->calls != NULL)
		eng->calls->prev = c;
	eng->calls = c;
	c->easy = curl_easy_init();
	c->done = event_new(eng->base, -1, 0, http_on_done, c);
	if (c->easy == NULL || c->done == NULL) {
		http_call_free(c);
		return NULL;
	}
	return c;
}

struct http_call *
http_start(struct http_engine *eng, const struct http_request *req,
    http_cb cb, void *ud)
{
	struct http_call *c = http_call_new(eng, cb, ud);
	enum http_error err;
	char msg[256];

	if (c == NULL)
		return NULL;
	if ((err = http_prepare(c, req, msg, sizeof msg)) != HTTP_OK)
		http_finish(c, err, "%s", msg);
	else
		http_launch(c);
	return c;
}

void
http_cancel(struct http_call *c)
{
	if (c != NULL && !c->in_cb)
		http_call_free(c);
}

/* The engine. */

static int
http_curl_usable(char *err, size_t n)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	if (v->version_num < 0x075500) {
		snprintf(err, n, "libcurl %s is too old: 7.85 or later is "
		    "needed (Debian 12: libcurl4-openssl-dev)", v->version);
		return 0;
	}
	if (!(v->features & CURL_VERSION_ASYNCHDNS)) {
		snprintf(err, n, "libcurl %s resolves names blocking, which "
		    "would stall every call: use a build with the threaded "
		    "resolver (Debian's libcurl4-openssl-dev)", v->version);
		return 0;
	}
	return 1;
}

static int
http_engine_setup(struct http_engine *eng)
{
	CURLM *m;

	if ((eng->multi = m = curl_multi_init()) == NULL ||
	    (eng->timer = evtimer_new(eng->base, http_on_timer, eng)) == NULL)
		return -1;
	if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, http_on_curl_socket) ||
	    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, eng) ||
	    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, http_on_curl_timer) ||
	    curl_multi_setopt(m, CURLMOPT_TIMERDATA, eng))
		return -1;
	return 0;
}

struct http_engine *
http_engine_new(struct event_base *base, char *err, size_t n)
{
	struct http_engine *eng;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, n, "libcurl failed to initialise: out of memory, "
		    "or its TLS library is broken");
		return NULL;
	}
	if (!http_curl_usable(err, n)) {
		curl_global_cleanup();
		return NULL;
	}
	if ((eng = calloc(1, sizeof *eng)) == NULL) {
		snprintf(err, n, "out of memory starting the HTTP engine");
		curl_global_cleanup();
		return NULL;
	}
	eng->base = base;
	if (http_engine_setup(eng) < 0) {
		snprintf(err, n, "out of memory starting the HTTP engine");
		http_engine_free(eng);
		return NULL;
	}
	return eng;
}

void
http_engine_free(struct http_engine *eng)
{
	if (eng == NULL)
		return;
	while (eng->calls != NULL)
		http_call_free(eng->calls);
	if (eng->multi != NULL)
		curl_multi_cleanup(eng->multi);
	while (eng->socks != NULL)
		http_sock_free(eng->socks);
	if (eng->timer != NULL)
		event_free(eng->timer);
	free(eng);
	curl_global_cleanup();
}
