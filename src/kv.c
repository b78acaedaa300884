/*
 * kv.c: the store's front: checks every operation's arguments once for
 * both backends (namespace, key, value, ttl), then dispatches through the
 * backend's table of operations (kv_lmdb.c, kv_redis.c). Also the pieces
 * both backends share: answering a callback, Redis's integer syntax.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

struct kv {
	const struct kv_ops	*ops;
	void			*be;
	int			 closing;
};

struct kv *
kv_new(const struct kv_ops *ops, void *be, char *err, size_t len)
{
	struct kv *kv;

	if ((kv = calloc(1, sizeof *kv)) == NULL) {
		snprintf(err, len, "kv: out of memory");
		ops->close(be);
		return NULL;
	}
	kv->ops = ops;
	kv->be = be;
	return kv;
}

void
kv_close(struct kv *kv)
{
	if (kv == NULL || kv->closing)
		return;
	kv->closing = 1;
	kv->ops->close(kv->be);
	free(kv);
}

static void
kv_ignore(void *arg, const struct kv_reply *r)
{
	(void)arg;
	(void)r;
}

void
kv_answer(kv_cb cb, void *arg, enum kv_status status, const char *message)
{
	struct kv_reply r;

	memset(&r, 0, sizeof r);
	r.status = status;
	r.message = message;
	cb(arg, &r);
}

/* Why ns and key cannot be used, or NULL if they can. */
static const char *
kv_check_key(const char *ns, const char *key, size_t klen)
{
	size_t nslen;

	if (ns == NULL || *ns == '\0')
		return "kv: no namespace given: pass the pool's name";
	nslen = strnlen(ns, KV_NS_MAX + 1);
	if (nslen > KV_NS_MAX)
		return "kv: namespace longer than 255 bytes: use a shorter "
		    "pool name";
	if (memchr(ns, ':', nslen) != NULL)
		return "kv: namespace contains ':': pool names cannot";
	if (key == NULL || klen == 0)
		return "kv: empty key: give a key of 1 to 255 bytes";
	if (klen > KV_KEY_MAX)
		return "kv: key longer than 255 bytes: use a shorter key "
		    "(a hash of a long one)";
	return NULL;
}

static const char *
kv_check_ttl(uint64_t ttl_ms)
{
	if (ttl_ms > KV_TTL_MAX)
		return "kv: ttl longer than ten years: give at most "
		    "315360000000 ms, or 0 for no expiry";
	return NULL;
}

/* Whether the store may take an operation now; answers cb if not. */
static int
kv_usable(struct kv *kv, kv_cb cb, void *arg, const char *why)
{
	if (kv == NULL)
		why = "kv: no store is configured";
	else if (kv->closing)
		why = "kv store closed";
	if (why == NULL)
		return 1;
	kv_answer(cb, arg, KV_ERROR, why);
	return 0;
}

void
kv_get(struct kv *kv, const char *ns, const char *key, size_t klen,
    kv_cb cb, void *arg)
{
	if (cb == NULL)
		cb = kv_ignore;
	if (kv_usable(kv, cb, arg, kv_check_key(ns, key, klen)))
		kv->ops->get(kv->be, ns, key, klen, cb, arg);
}

void
kv_set(struct kv *kv, const char *ns, const char *key, size_t klen,
    const char *value, size_t vlen, uint64_t ttl_ms, kv_cb cb, void *arg)
{
	const char *why = kv_check_key(ns, key, klen);

	if (cb == NULL)
		cb = kv_ignore;
	if (why == NULL && vlen > KV_VALUE_MAX)
		why = "kv: value longer than 1 MiB: store less, or split it "
		    "over several keys";
	if (why == NULL && value == NULL && vlen > 0)
		why = "kv: no value given";
	if (why == NULL)
		why = kv_check_ttl(ttl_ms);
	if (kv_usable(kv, cb, arg, why))
		kv->ops->set(kv->be, ns, key, klen, value == NULL ? "" : value,
		    vlen, ttl_ms, cb, arg);
}

void
kv_del(struct kv *kv, const char *ns, const char *key, size_t klen,
    kv_cb cb, void *arg)
{
	if (cb == NULL)
		cb = kv_ignore;
	if (kv_usable(kv, cb, arg, kv_check_key(ns, key, klen)))
		kv->ops->del(kv->be, ns, key, klen, cb, arg);
}

void
kv_incr(struct kv *kv, const char *ns, const char *key, size_t klen,
    int64_t by, uint64_t ttl_ms, kv_cb cb, void *arg)
{
	const char *why = kv_check_key(ns, key, klen);

	if (cb == NULL)
		cb = kv_ignore;
	if (why == NULL)
		why = kv_check_ttl(ttl_ms);
	if (kv_usable(kv, cb, arg, why))
		kv->ops->incr(kv->be, ns, key, klen, by, ttl_ms, cb, arg);
}

long
kv_sweep(struct kv *kv, size_t max, char *err, size_t len)
{
	if (kv == NULL || kv->closing) {
		snprintf(err, len, "kv: no store is open");
		return -1;
	}
	if (kv->ops->sweep == NULL)
		return 0;
	return kv->ops->sweep(kv->be, max, err, len);
}

/*
 * Redis's string2ll: an optional '-', then "0" alone or a digit 1-9 and
 * more digits, within int64. No '+', no spaces, no leading zeros, no "-0".
 */
int
kv_parse_int(const char *s, size_t n, int64_t *out)
{
	uint64_t v = 0, lim;
	size_t i = 0;
	int neg = 0;

	if (n == 1 && s[0] == '0') {
		*out = 0;
		return 1;
	}
	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i >= n || s[i] < '1' || s[i] > '9')
		return 0;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (lim - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 1;
}

int
kv_add(int64_t a, int64_t b, int64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}
