/*
 * http.h: outgoing HTTP for http.request (http.c), libcurl's multi
 * interface driven by the broker's libevent loop, so a slow request holds
 * up nothing else. Only http and https. The address actually connected to
 * is checked after resolution (egress.c): loopback, private, link-local,
 * CGNAT, multicast, unspecified, metadata and IPv4-mapped IPv6 addresses
 * are refused unless the request allows private addresses. Redirects are
 * followed only where the caller's redirect check allows. Header names
 * and values with CR or LF are refused; the response's size and the whole
 * request's time are capped.
 */
#ifndef MB_HTTP_H
#define MB_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_engine;
struct http_call;

struct http_header {
	const char	*name, *value;
};

/* Every string is copied by http_start: nothing need outlive it. Strings
 * are NUL-terminated, so none can hold a NUL: a caller converting from
 * msgpack must refuse a string with one inside. */
struct http_request {
	const char		*method;	/* a token of letters: GET, ... */
	const char		*url;		/* absolute http or https */
	const struct http_header *headers;	/* see below for refusals */
	size_t			 nheaders;
	const char		*body;		/* NULL: none */
	size_t			 bodylen;
	uint64_t		 timeout_ms;	/* the whole exchange; 0: default */
	size_t			 max_response;	/* bytes of the body; 0: default */
	int			 allow_private;
	int			 max_redirects;	/* 0: redirects are not followed */
	/* Whether a redirect to url may be followed with method, and if its
	 * address may be private (*allow_private starts at 0); NULL:
	 * redirects are not followed, the 3xx is the response. It must not
	 * call into the engine. */
	int			(*redirect_ok)(void *, const char *, const char *,
				    int *);
	void			*ud;
};

/* Defaults and limits. A request header is refused (HTTP_BAD_REQUEST,
 * before any connection) when its name is not a token, its value holds a
 * control character other than HTAB, or its name is one the engine owns:
 * Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive,
 * Upgrade, TE, Trailer, Expect. An empty value is sent empty.
 * Authorization and Cookie are dropped on a redirect to another origin. */
#define HTTP_TIMEOUT_DEFAULT_MS		30000
#define HTTP_RESPONSE_DEFAULT		(1u << 20)
#define HTTP_URL_MAX			8192
#define HTTP_HEADERS_MAX		64	/* request headers */
#define HTTP_HEADER_MAX			8192	/* bytes of a name and value */
#define HTTP_RESPONSE_HEADERS_MAX	100
#define HTTP_RESPONSE_HEADER_BYTES	(64u << 10)

enum http_error {
	HTTP_OK,		/* a response arrived (any status) */
	HTTP_DENIED,		/* an address or redirect was refused */
	HTTP_BAD_REQUEST,	/* the request itself is invalid */
	HTTP_TIMEOUT,
	HTTP_TOO_LARGE,		/* the response passed max_response */
	HTTP_FAILED,		/* DNS, connection, TLS, protocol */
};

/* Redirects followed, the response is the last hop's; on an error, status
 * and headers are those of the last response seen, if any. bytes_sent is
 * what the requests took (headers and bodies), bytes_received what came
 * back (headers and bodies), over every hop, above TLS. */
struct http_response {
	enum http_error		 error;
	char			 message[256];	/* "" when HTTP_OK */
	long			 status;
	struct http_header	*headers;	/* lowercase names */
	size_t			 nheaders;
	const char		*body;
	size_t			 bodylen;
	const char		*final_url;
	char			 remote_ip[64];
	size_t			 bytes_sent, bytes_received;
};

/* Called once, when the call ends, always from the event loop (never from
 * within http_start); the response lives until it returns. */
typedef void	(*http_cb)(void *, const struct http_response *);

/* NULL, with a message in the buffer, if libcurl is too old or cannot
 * resolve names without blocking. */
struct http_engine *http_engine_new(struct event_base *, char *, size_t);
/* Calls still pending are abandoned: their callbacks are not called. Not
 * from within a callback. */
void		 http_engine_free(struct http_engine *);
/* Start a call; NULL (and cb not called) only when out of memory. An
 * invalid request still returns a call, and ends with HTTP_BAD_REQUEST.
 * The call is valid until its callback returns or it is cancelled. */
struct http_call *http_start(struct http_engine *, const struct http_request *,
		    http_cb, void *);
/* The URL as the engine fetches it: libcurl's reading, dot segments
 * resolved, numeric hosts spelt out, no fragment ("https://a.example" is
 * "https://a.example/"). http_start refuses a URL not already in this form,
 * so the broker must put this, not the rule's text, to the policy. 0; or -1
 * with a message in the buffer. */
int		 http_url_canonical(const char *, char *, size_t);
/* Abandon a call: cb is not called. NULL, or the call whose callback is
 * running: nothing happens. */
void		 http_cancel(struct http_call *);

#endif
