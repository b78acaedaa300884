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

/* The same, with one descriptor passed along (SCM_RIGHTS). flags may add
 * MSG_DONTWAIT. The receiver gets it with the frame, or -1 if none came. */
int	chan_send_fd(int, const char *, size_t, int, int);
int	chan_recv_fd(int, char **, size_t *, int *);

#endif
