/*
 * httpapi.h: the HTTP/JSON listener (httpapi.c) and the Prometheus
 * metrics it serves (metrics.c).
 */
#ifndef MB_HTTPAPI_H
#define MB_HTTPAPI_H

#include "kind.h"
#include "settings.h"

struct event_base;
struct evbuffer;

/* Serve HTTP on a listening socket; token: the bearer token it requires,
 * or NULL. */
int		 httpapi_start(struct event_base *, int, const char *,
		    const struct settings *);
void		 httpapi_stop_listening(void);
void		 httpapi_stop(void);
unsigned	 httpapi_connections(void);
int		 httpapi_status(enum mb_kind);

void		 metrics_write(struct evbuffer *);

#endif
