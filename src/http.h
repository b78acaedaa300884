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

struct http_request {
	const char		*method;	/* GET, POST, ... */
	const char		*url;
	const struct http_header *headers;
	size_t			 nheaders;
	const char		*body;		/* NULL: none */
	size_t			 bodylen;
	uint64_t		 timeout_ms;	/* the whole exchange */
	size_t			 max_response;	/* bytes of the body */
	int			 allow_private;
	int			 max_redirects;
	/* Whether a redirect to url may be followed, and if its address may
	 * be private; NULL: redirects are not followed. */
	int			(*redirect_ok)(void *, const char *, const char *,
				    int *);
	void			*ud;
};

enum http_error {
	HTTP_OK,		/* a response arrived (any status) */
	HTTP_DENIED,		/* an address or redirect was refused */
	HTTP_BAD_REQUEST,	/* the request itself is invalid */
	HTTP_TIMEOUT,
	HTTP_TOO_LARGE,		/* the response passed max_response */
	HTTP_FAILED,		/* DNS, connection, TLS, protocol */
};

struct http_response {
	enum http_error		 error;
	char			 message[256];
	long			 status;
	struct http_header	*headers;	/* lowercase names */
	size_t			 nheaders;
	const char		*body;
	size_t			 bodylen;
	const char		*final_url;
	char			 remote_ip[64];
	size_t			 bytes_sent, bytes_received;
};

/* Called once, when the call ends; the response lives until it returns. */
typedef void	(*http_cb)(void *, const struct http_response *);

struct http_engine *http_engine_new(struct event_base *, char *, size_t);
void		 http_engine_free(struct http_engine *);
/* Start a call; NULL (and cb not called) only when out of memory. */
struct http_call *http_start(struct http_engine *, const struct http_request *,
		    http_cb, void *);
/* Abandon a call: cb is not called. */
void		 http_cancel(struct http_call *);

#endif
