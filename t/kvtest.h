/*
 * kvtest.h: what the tests of both kv backends share (unit-kv.c for LMDB,
 * kv-probe.c for Redis): an operation's answer, the operations as calls
 * that wait for it, and the contract both stores keep (round trips of any
 * bytes, pools kept apart, incr as Redis counts, expiry, the limits on
 * values and ttls) as TAP tests. Header-only, as tap.h, whose counters it
 * shares: include it after tap.h. Each program sets kvt_wait, how to wait
 * for an answer.
 */
#ifndef MB_KVTEST_H
#define MB_KVTEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv.h"

struct res {
	int		 calls;
	enum kv_status	 st;
	char		*value;
	size_t		 len;
	int64_t		 number;
	char		 msg[512];
};

static struct res R;			/* the last operation's answer */
static long kvt_ops, kvt_answers;	/* every operation answers once */

/* Waits until R is answered: R.st, or (enum kv_status)-1 if it never is. */
static enum kv_status (*kvt_wait)(void);

static void
res_cb(void *arg, const struct kv_reply *r)
{
	struct res *x = arg;

	kvt_answers++;
	x->calls++;
	x->st = r->status;
	free(x->value);
	x->value = NULL;
	if (r->value != NULL && (x->value = malloc(r->len + 1)) != NULL) {
		memcpy(x->value, r->value, r->len);
		x->value[r->len] = '\0';
	}
	x->len = r->len;
	x->number = r->number;
	snprintf(x->msg, sizeof x->msg, "%s", r->message ? r->message : "");
}

static void
res_reset(struct res *x)
{
	free(x->value);
	memset(x, 0, sizeof *x);
	kvt_ops++;
}

static enum kv_status
kvt_get(struct kv *kv, const char *ns, const char *key, size_t klen)
{
	res_reset(&R);
	kv_get(kv, ns, key, klen, res_cb, &R);
	return kvt_wait();
}

static enum kv_status
kvt_set(struct kv *kv, const char *ns, const char *key, size_t klen,
    const char *v, size_t vlen, uint64_t ttl)
{
	res_reset(&R);
	kv_set(kv, ns, key, klen, v, vlen, ttl, res_cb, &R);
	return kvt_wait();
}

static enum kv_status
kvt_del(struct kv *kv, const char *ns, const char *key, size_t klen)
{
	res_reset(&R);
	kv_del(kv, ns, key, klen, res_cb, &R);
	return kvt_wait();
}

static enum kv_status
kvt_incr(struct kv *kv, const char *ns, const char *key, size_t klen,
    int64_t by, uint64_t ttl)
{
	res_reset(&R);
	kv_incr(kv, ns, key, klen, by, ttl, res_cb, &R);
	return kvt_wait();
}

/* C strings as keys and values. */
#define S(s)			(s), strlen(s)
#define GET(kv, ns, k)		kvt_get(kv, ns, S(k))
#define SET(kv, ns, k, v, ttl)	kvt_set(kv, ns, S(k), S(v), ttl)

/* Whether key holds exactly the n bytes v. */
static int
kvt_holds(struct kv *kv, const char *ns, const char *k, size_t klen,
    const char *v, size_t n)
{
	return kvt_get(kv, ns, k, klen) == KV_OK && R.len == n &&
	    memcmp(R.value, v, n) == 0;
}

static void
kvt_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
kvt_test_round_trips(struct kv *kv)
{
	static const char bin[] = "a\0b\xff\x00\x80z";
	static const char k1[] = "k\0one", k2[] = "k";
	char *big;

	ok(kvt_set(kv, "p", S("plain"), S("value"), 0) == KV_OK &&
	    kvt_holds(kv, "p", S("plain"), S("value")),
	    "a value set is the value got");
	ok(kvt_set(kv, "p", S("bin"), bin, sizeof bin, 0) == KV_OK &&
	    kvt_holds(kv, "p", S("bin"), bin, sizeof bin),
	    "values keep every byte, NUL and 0xff included");
	ok(kvt_set(kv, "p", k1, sizeof k1, S("with nul"), 0) == KV_OK &&
	    kvt_set(kv, "p", k2, sizeof k2 - 1, S("without"), 0) == KV_OK &&
	    kvt_holds(kv, "p", k1, sizeof k1, S("with nul")) &&
	    kvt_holds(kv, "p", k2, sizeof k2 - 1, S("without")),
	    "a key with a NUL is its own key, not the bytes before the NUL");
	ok(kvt_set(kv, "p", S("empty"), "", 0, 0) == KV_OK &&
	    kvt_get(kv, "p", S("empty")) == KV_OK && R.len == 0,
	    "an empty value is stored and found, empty");
	ok(kvt_set(kv, "p", S("nullval"), NULL, 0, 0) == KV_OK &&
	    kvt_get(kv, "p", S("nullval")) == KV_OK && R.len == 0,
	    "no value pointer with length 0 stores an empty value");
	ok(GET(kv, "p", "never-set") == KV_NOT_FOUND && R.value == NULL,
	    "a key never set is not found");
	ok(SET(kv, "p", "plain", "second", 0) == KV_OK &&
	    kvt_holds(kv, "p", S("plain"), S("second")),
	    "set replaces the value");
	ok(kvt_del(kv, "p", S("plain")) == KV_OK &&
	    GET(kv, "p", "plain") == KV_NOT_FOUND,
	    "a deleted key is gone");
	ok(kvt_del(kv, "p", S("plain")) == KV_NOT_FOUND,
	    "deleting a missing key is not found");
	if ((big = malloc(KV_VALUE_MAX)) == NULL)
		return;
	for (size_t i = 0; i < KV_VALUE_MAX; i++)
		big[i] = (char)(i * 7 + i / 251);
	ok(kvt_set(kv, "p", S("big"), big, KV_VALUE_MAX, 0) == KV_OK &&
	    kvt_holds(kv, "p", S("big"), big, KV_VALUE_MAX),
	    "a value of exactly KV_VALUE_MAX bytes round-trips");
	ok(kvt_set(kv, "p", S("big"), big, KV_VALUE_MAX + 1, 0) == KV_ERROR &&
	    strstr(R.msg, "1 MiB") &&
	    kvt_holds(kv, "p", S("big"), big, KV_VALUE_MAX),
	    "a value one byte longer is refused and the old one stays");
	free(big);
}

static void
kvt_test_namespaces(struct kv *kv)
{
	static const struct { const char *ns, *key; size_t klen; } k[] = {
		{ "a", "x", 1 }, { "b", "x", 1 }, { "ab", "c", 1 },
		{ "a", "bc", 2 }, { "a", "\0x", 2 }, { "a", "x\0", 2 },
		{ "a", "b:c", 3 }, { "a.b", "c", 1 }, { "a", "b\0c", 3 },
	};
	const size_t n = sizeof k / sizeof k[0];
	int all = 1;
	char v[16];

	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof v, "v%zu", i);
		all &= kvt_set(kv, k[i].ns, k[i].key, k[i].klen, S(v), 0) == KV_OK;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof v, "v%zu", i);
		all &= kvt_holds(kv, k[i].ns, k[i].key, k[i].klen, S(v));
	}
	ok(all, "keys of different pools never meet, even with NUL, ':' or "
	    "a pool name that is a prefix of another");
	ok(GET(kv, "c", "x") == KV_NOT_FOUND,
	    "a pool does not see another pool's key of the same name");
	ok(kvt_del(kv, "b", S("x")) == KV_OK && kvt_holds(kv, "a", S("x"), S("v0")),
	    "deleting in one pool leaves the same key of another");
	ok(kvt_incr(kv, "p2", S("n"), 5, 0) == KV_OK && R.number == 5 &&
	    kvt_incr(kv, "p3", S("n"), 1, 0) == KV_OK && R.number == 1,
	    "counters of the same name in two pools count apart");
}

static void
kvt_test_incr(struct kv *kv)
{
	static const char *bad[] = { "", " 1", "1 ", "+1", "01", "-0", "1.5",
	    "0x10", "1e3", "-", "9223372036854775808",
	    "-9223372036854775809", "12345678901234567890123" };
	int all = 1;

	ok(kvt_incr(kv, "i", S("fresh"), 5, 0) == KV_OK && R.number == 5 &&
	    kvt_holds(kv, "i", S("fresh"), S("5")),
	    "incr of a missing key counts from 0 and stores the decimal");
	ok(SET(kv, "i", "ten", "10", 0) == KV_OK &&
	    kvt_incr(kv, "i", S("ten"), -3, 0) == KV_OK && R.number == 7 &&
	    kvt_holds(kv, "i", S("ten"), S("7")),
	    "incr by a negative amount counts down");
	ok(kvt_incr(kv, "i", S("zero"), 0, 0) == KV_OK && R.number == 0 &&
	    kvt_holds(kv, "i", S("zero"), S("0")),
	    "incr by 0 of a missing key creates it as 0");
	ok(SET(kv, "i", "word", "abc", 0) == KV_OK &&
	    kvt_incr(kv, "i", S("word"), 1, 0) == KV_NOT_INTEGER &&
	    strstr(R.msg, "not a decimal integer") &&
	    kvt_holds(kv, "i", S("word"), S("abc")),
	    "incr of a non-integer is KV_NOT_INTEGER and leaves it alone");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (SET(kv, "i", "bad", bad[i], 0) != KV_OK ||
		    kvt_incr(kv, "i", S("bad"), 1, 0) != KV_NOT_INTEGER) {
			diag("'%s' counted", bad[i]);
			all = 0;
		}
	ok(all, "spaces, '+', leading zeros, -0, fractions, hex and numbers "
	    "past int64 are not integers, as in Redis");
	ok(kvt_set(kv, "i", S("nul"), "1\0002", 3, 0) == KV_OK &&
	    kvt_incr(kv, "i", S("nul"), 1, 0) == KV_NOT_INTEGER,
	    "a number with a NUL inside is not an integer");
	ok(SET(kv, "i", "max", "9223372036854775807", 0) == KV_OK &&
	    kvt_incr(kv, "i", S("max"), 1, 0) == KV_ERROR &&
	    strstr(R.msg, "overflow") &&
	    kvt_holds(kv, "i", S("max"), S("9223372036854775807")),
	    "incr past INT64_MAX is an error and leaves the value");
	ok(SET(kv, "i", "min", "-9223372036854775808", 0) == KV_OK &&
	    kvt_incr(kv, "i", S("min"), 0, 0) == KV_OK && R.number == INT64_MIN &&
	    kvt_incr(kv, "i", S("min"), -1, 0) == KV_ERROR &&
	    strstr(R.msg, "overflow"),
	    "INT64_MIN is an integer, and one below it is an overflow");
	ok(SET(kv, "i", "large", "9223372036854775000", 0) == KV_OK &&
	    kvt_incr(kv, "i", S("large"), 7, 0) == KV_OK &&
	    R.number == 9223372036854775007LL,
	    "counters past 2^53 count exactly");
	ok(kvt_incr(kv, "i", S("fresh"), INT64_MIN, 0) == KV_OK &&
	    R.number == INT64_MIN + 5,
	    "incr by INT64_MIN of a positive counter is exact");
}

/* Keys whose fate is decided by one sleep; between(kv), if given, runs
 * after they are set and before they expire. */
static void
kvt_test_ttl(struct kv *kv, void (*between)(struct kv *))
{
	int before;

	before = SET(kv, "t", "short", "v", 200) == KV_OK &&
	    GET(kv, "t", "short") == KV_OK;
	before &= SET(kv, "t", "cleared", "v", 200) == KV_OK &&
	    SET(kv, "t", "cleared", "w", 0) == KV_OK;
	before &= SET(kv, "t", "added", "v", 0) == KV_OK &&
	    SET(kv, "t", "added", "w", 200) == KV_OK;
	before &= SET(kv, "t", "delme", "v", 200) == KV_OK;
	before &= kvt_incr(kv, "t", S("born"), 1, 200) == KV_OK;
	before &= SET(kv, "t", "kept", "5", 0) == KV_OK &&
	    kvt_incr(kv, "t", S("kept"), 1, 200) == KV_OK;
	before &= SET(kv, "t", "old", "5", 200) == KV_OK &&
	    kvt_incr(kv, "t", S("old"), 1, 0) == KV_OK;
	before &= SET(kv, "t", "again", "41", 200) == KV_OK;
	before &= SET(kv, "t", "long", "v", KV_TTL_MAX) == KV_OK;
	ok(before, "keys with ttls are there before they expire");
	if (between != NULL)
		between(kv);
	kvt_sleep_ms(300);
	ok(GET(kv, "t", "short") == KV_NOT_FOUND,
	    "a key is not found once its ttl has passed");
	ok(kvt_holds(kv, "t", S("cleared"), S("w")),
	    "set with ttl 0 clears an earlier expiry");
	ok(GET(kv, "t", "added") == KV_NOT_FOUND,
	    "set with a ttl gives an expiry to a key that had none");
	ok(kvt_del(kv, "t", S("delme")) == KV_NOT_FOUND,
	    "deleting an expired key is not found");
	ok(GET(kv, "t", "born") == KV_NOT_FOUND,
	    "incr's ttl applies to the key it creates");
	ok(kvt_holds(kv, "t", S("kept"), S("6")),
	    "incr's ttl does not apply to a key that exists");
	ok(GET(kv, "t", "old") == KV_NOT_FOUND,
	    "incr keeps an existing key's expiry");
	ok(kvt_incr(kv, "t", S("again"), 1, 0) == KV_OK && R.number == 1,
	    "incr of an expired key counts from 0 again");
	ok(kvt_holds(kv, "t", S("long"), S("v")),
	    "a ttl of exactly KV_TTL_MAX is taken");
	ok(SET(kv, "t", "toolong", "v", KV_TTL_MAX + 1) == KV_ERROR &&
	    strstr(R.msg, "ten years") &&
	    kvt_incr(kv, "t", S("toolong"), 1, KV_TTL_MAX + 1) == KV_ERROR &&
	    GET(kv, "t", "toolong") == KV_NOT_FOUND,
	    "a ttl past KV_TTL_MAX is refused and nothing is stored");
}

#endif
