/*
 * kv.h: the key-value store behind kv.get/set/del/incr, with two backends
 * chosen in moonboxd.conf: an embedded LMDB environment (kv_lmdb.c, the
 * single-host default, durable across restarts) and Redis through hiredis
 * on the broker's event loop (kv_redis.c, for several hosts). Keys are
 * namespaced per pool by the store, so one pool cannot reach another's.
 * Every operation answers through its callback exactly once, possibly
 * before the call returns (LMDB: always; Redis: when it fails at once) or
 * later from the event loop (Redis). kv.c checks the arguments the same way
 * for both backends and dispatches to the backend's table of operations.
 *
 * Semantics, identical on both backends:
 * - ns is the pool's name: 1 to KV_NS_MAX bytes, no ':' (Redis keys are
 *   "moonbox:" ns ":" key, so ':' would make two pools' keys meet). A key
 *   is 1 to KV_KEY_MAX bytes of anything, NUL included; a value is 0 to
 *   KV_VALUE_MAX bytes of anything. Past a limit: KV_ERROR, nothing done.
 * - ttl_ms 0 is no expiry; at most KV_TTL_MAX. set replaces the value and
 *   its expiry: a set with ttl_ms 0 clears an earlier expiry.
 * - An expired key is missing for every operation.
 * - incr: the value is a decimal integer as Redis writes it ("-12"; no
 *   '+', spaces or leading zeros); a missing key counts as 0. ttl_ms
 *   applies only when incr creates the key; an existing key keeps its
 *   expiry. Anything else stored: KV_NOT_INTEGER, unchanged. A result
 *   outside int64: KV_ERROR, unchanged.
 * - del of a missing key: KV_NOT_FOUND.
 * - KV_OK for a write means it is committed: on disk (LMDB, with its
 *   default sync) or applied by the Redis server.
 * - A reply's value and message are valid only during the callback.
 * - kv_close answers every operation still pending with KV_ERROR ("kv
 *   store closed"), once, before it returns; no callback runs after it.
 *   An operation started from such a callback fails at once. kv_close must
 *   not be called from inside a callback of the same store.
 */
#ifndef MB_KV_H
#define MB_KV_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct kv;

/*
 * LMDB's keys are at most 511 bytes: ns, a NUL and the key must fit, so
 * a pool name (PROTO_NAME_MAX) and a key have 255 bytes each.
 */
#define KV_NS_MAX	255		/* bytes of a namespace (pool name) */
#define KV_KEY_MAX	255		/* bytes of a key */
#define KV_VALUE_MAX	(1u << 20)	/* bytes of a value */
#define KV_TTL_MAX	(3650ull * 24 * 3600 * 1000)	/* ms: ten years */

/* LMDB: map_size 0 means this many bytes. */
#define KV_LMDB_DEFAULT_MAP	((size_t)1 << 30)
/* Redis: an operation or a connection attempt gets this long. */
#define KV_REDIS_TIMEOUT_MS	2000
/* Redis: operations waiting for their reply, at most. */
#define KV_REDIS_PENDING_MAX	65536

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

/*
 * The LMDB store in dir (made 0700 if missing; its files are 0600), one
 * environment for every pool. map_size is the most it may hold (kv-size
 * in moonboxd.conf). NULL with a message in err if it cannot be opened.
 */
struct kv	*kv_open_lmdb(const char *, size_t, char *, size_t);
/*
 * Redis at address:port, or at the unix socket address when it starts
 * with '/' (port ignored), on the event loop base. The connection is
 * made in the background: the store is returned even while Redis is
 * unreachable. While the connection is down operations fail at once with
 * KV_ERROR "redis unavailable: ..."; it is retried with a backoff from
 * 100 ms to 5 s. Operations pending when it drops, or unanswered after
 * KV_REDIS_TIMEOUT_MS (the connection is then dropped), get KV_ERROR.
 * NULL with a message in err only for bad arguments or no memory.
 * A host name is resolved by hiredis, blocking: prefer an address.
 */
struct kv	*kv_open_redis(struct event_base *, const char *, int,
		    char *, size_t);
void		 kv_close(struct kv *);

/* ns: the pool. ttl_ms 0: no expiry. cb may be NULL: no answer wanted. */
void	kv_get(struct kv *, const char *, const char *, size_t, kv_cb, void *);
void	kv_set(struct kv *, const char *, const char *, size_t, const char *,
	    size_t, uint64_t, kv_cb, void *);
void	kv_del(struct kv *, const char *, const char *, size_t, kv_cb, void *);
void	kv_incr(struct kv *, const char *, const char *, size_t, int64_t,
	    uint64_t, kv_cb, void *);

/*
 * Remove expired keys, examining at most max entries from where the last
 * sweep stopped (0: all). Returns how many were removed, or -1 with a
 * message. Writes already sweep a few entries each (LMDB), so expired keys
 * cannot pile up; a timer calling this reclaims space sooner. Redis
 * expires keys itself: 0.
 */
long	kv_sweep(struct kv *, size_t, char *, size_t);

/*
 * For the backends. A backend's handle and its table of operations; the
 * arguments are checked by kv.c before they get here.
 */
struct kv_ops {
	const char	*name;
	void	(*get)(void *, const char *, const char *, size_t, kv_cb,
		    void *);
	void	(*set)(void *, const char *, const char *, size_t,
		    const char *, size_t, uint64_t, kv_cb, void *);
	void	(*del)(void *, const char *, const char *, size_t, kv_cb,
		    void *);
	void	(*incr)(void *, const char *, const char *, size_t, int64_t,
		    uint64_t, kv_cb, void *);
	long	(*sweep)(void *, size_t, char *, size_t);
	void	(*close)(void *);
};

/* A store around a backend's handle; NULL (and ops->close) if no memory. */
struct kv	*kv_new(const struct kv_ops *, void *, char *, size_t);
/* Answer cb with a status and a message. */
void		 kv_answer(kv_cb, void *, enum kv_status, const char *);
/* Parse a stored integer as Redis does; 0 if it is not one. */
int		 kv_parse_int(const char *, size_t, int64_t *);
/* a + b into *out; 0 if it overflows int64. */
int		 kv_add(int64_t, int64_t, int64_t *);

#endif
