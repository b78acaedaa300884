/*
 * link.h: a non-blocking connection on the master's event loop (link.c):
 * messages in, one callback each; bytes out, buffered. Two ways of cutting
 * messages: FRAMED, the length-prefixed frames of proto.h (channels to
 * workers and the spawner); STREAM, whole msgpack values one after another
 * (msgpack-RPC clients). Both cap the size of one message.
 */
#ifndef MB_LINK_H
#define MB_LINK_H

#include <stddef.h>

#include <event2/event.h>

#include "mpr.h"

enum link_mode { LINK_FRAMED, LINK_STREAM };

struct link;

struct link_ops {
	/* One whole message: a frame's body, or one msgpack value. */
	void	(*message)(struct link *, const char *, size_t, void *);
	/* The peer will send no more (it may still read): every message it
	 * sent has been handed over. NULL: end of file closes the link. */
	void	(*eof)(struct link *, void *);
	/* The link is gone: end of file, an error or a message over the cap
	 * (why says which). The link is freed after this returns. */
	void	(*closed)(struct link *, const char *, void *);
};

struct link	*link_new(struct event_base *, int, enum link_mode, size_t,
		    const struct link_ops *, void *);
/* Queue bytes to send. Returns -1 if the link is closed or there is no
 * memory to queue them: nothing was queued. */
int		 link_send(struct link *, const void *, size_t);
/* The same, and descriptors (SCM_RIGHTS) that go with the first byte of
 * these, in order with everything queued before and after: the link
 * sends copies and closes them once sent; the caller keeps its own. */
int		 link_send_fds(struct link *, const void *, size_t, const int *,
		    int);
size_t		 link_pending(const struct link *);
/* Write what the socket takes now instead of from the loop; 0 when all is
 * out. Errors are left to the loop, which closes the link. */
int		 link_flush(struct link *);
/* Stop or resume reading (back-pressure). */
void		 link_pause(struct link *, int);
/* Close now, or after what is queued has been sent. closed() runs. */
void		 link_close(struct link *, const char *);
void		 link_close_after_flush(struct link *);
/* Close from the loop, soon: for a caller whose own caller still holds
 * what closed() frees. Nothing more is sent meanwhile. */
void		 link_close_soon(struct link *, const char *);
/* Closed, or closing: what is sent now goes nowhere. */
int		 link_closing(const struct link *);
int		 link_fd(const struct link *);
/* Keep descriptors passed with SCM_RIGHTS; a message callback takes the
 * ones that came with its message, oldest first. */
void		 link_accept_fds(struct link *);
int		 link_set_priority(struct link *, int);
int		 link_pop_fd(struct link *);

#endif
