/*
 * kv.h: the key-value store behind kv.get/set/del/incr, with two backends
 * chosen in moonboxd.conf: an embedded LMDB environment (kv_lmdb.c, the
 * single-host default, durable across restarts) and Redis through hiredis
 * on the broker's event loop (kv_redis.c, for several hosts). Keys are
 * namespaced per pool by the store, so one pool cannot reach another's.
 * Every operation answers through its callback exactly once, possibly
 * before the call returns (LMDB) or later (Redis).
 */
#ifndef MB_KV_H
#define MB_KV_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct kv;

#define KV_KEY_MAX	512		/* bytes of a key */
#define KV_VALUE_MAX	(1u << 20)	/* bytes of a value */

enum kv_status {
	KV_OK,
	KV_NOT_FOUND,		/* get/del of a missing or expired key */
	KV_NOT_INTEGER,		/* incr of a value that is not one */
	KV_FULL,		/* the store is full (LMDB map, Redis OOM) */
	KV_ERROR,		/* anything else: message says what */
};

struct kv_reply {
	enum kv_status	 status;
	const char	*value;		/* get: the bytes stored */
	size_t		 len;
	int64_t		 number;	/* incr: the new value */
	const char	*message;	/* when not KV_OK */
};

typedef void	(*kv_cb)(void *, const struct kv_reply *);

struct kv	*kv_open_lmdb(const char *, size_t, char *, size_t);
struct kv	*kv_open_redis(struct event_base *, const char *, int,
		    char *, size_t);
void		 kv_close(struct kv *);

/* ns: the pool. ttl_ms 0: no expiry. */
void	kv_get(struct kv *, const char *, const char *, size_t, kv_cb, void *);
void	kv_set(struct kv *, const char *, const char *, size_t, const char *,
	    size_t, uint64_t, kv_cb, void *);
void	kv_del(struct kv *, const char *, const char *, size_t, kv_cb, void *);
void	kv_incr(struct kv *, const char *, const char *, size_t, int64_t,
	    uint64_t, kv_cb, void *);

#endif
