/*
 * chan.h: frames on a channel (chan.c), see proto.h. Blocking helpers for the
 * worker and for `moonbox run`; the frame rules are the same everywhere.
 */
#ifndef MB_CHAN_H
#define MB_CHAN_H

#include <stddef.h>

#include <msgpack.h>

/* Send a whole frame, length prefix included (msg_begin/msg_finish).
 * Returns 0, or -1 with errno. */
int	chan_send(int, const char *, size_t);
/* Receive one frame into *buf (malloc'ed, the caller frees). timeout_ms < 0
 * waits for ever. Returns 1 with a frame, 0 at end of file, -1 on error
 * (errno ETIMEDOUT after the timeout, EMSGSIZE over the cap). */
int	chan_recv(int, char **, size_t *, int);

/* The same, with one or two descriptors passed along (SCM_RIGHTS). flags
 * may add MSG_DONTWAIT. The receiver gets them with the frame (fds holds
 * room for two; *nfds says how many came). */
int	chan_send_fds(int, const char *, size_t, const int *, int, int);
int	chan_recv_fds(int, char **, size_t *, int *, int *);

#endif
