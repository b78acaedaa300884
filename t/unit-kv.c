/*
 * unit-kv.c: the kv store's LMDB backend through kv.h, as the broker uses
 * it: round trips of any bytes, pools kept apart, expiry, incr as Redis
 * counts, every limit and wrong argument, durability across a close and
 * across a crash, a full map, a write the file system refuses, sweeping.
 * Each operation must answer exactly once before it returns. Uses tap.h
 * and a temporary directory.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kv.h"
#include "tap.h"

struct res {
	int		 calls;
	enum kv_status	 st;
	char		*value;
	size_t		 len;
	int64_t		 number;
	char		 msg[512];
};

static struct res R;
static int not_once;		/* operations not answered exactly once */
static char tmp[] = "/tmp/unit-kv.XXXXXX";

static void
res_cb(void *arg, const struct kv_reply *r)
{
	struct res *x = arg;

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
res_reset(void)
{
	free(R.value);
	memset(&R, 0, sizeof R);
}

static enum kv_status
res_done(void)
{
	if (R.calls != 1)
		not_once++;
	return R.st;
}

static enum kv_status
get(struct kv *kv, const char *ns, const char *key, size_t klen)
{
	res_reset();
	kv_get(kv, ns, key, klen, res_cb, &R);
	return res_done();
}

static enum kv_status
set(struct kv *kv, const char *ns, const char *key, size_t klen,
    const char *v, size_t vlen, uint64_t ttl)
{
	res_reset();
	kv_set(kv, ns, key, klen, v, vlen, ttl, res_cb, &R);
	return res_done();
}

static enum kv_status
del(struct kv *kv, const char *ns, const char *key, size_t klen)
{
	res_reset();
	kv_del(kv, ns, key, klen, res_cb, &R);
	return res_done();
}

static enum kv_status
incr(struct kv *kv, const char *ns, const char *key, size_t klen, int64_t by,
    uint64_t ttl)
{
	res_reset();
	kv_incr(kv, ns, key, klen, by, ttl, res_cb, &R);
	return res_done();
}

/* C strings as keys and values. */
#define S(s)		(s), strlen(s)
#define GET(kv, ns, k)	get(kv, ns, S(k))
#define SET(kv, ns, k, v, ttl)	set(kv, ns, S(k), S(v), ttl)

/* Whether key holds exactly the n bytes v. */
static int
holds(struct kv *kv, const char *ns, const char *k, size_t klen,
    const char *v, size_t n)
{
	return get(kv, ns, k, klen) == KV_OK && R.len == n &&
	    memcmp(R.value, v, n) == 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *
path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmp, name);
	return buf[i];
}

static struct kv *
open_store(const char *name, size_t map)
{
	char err[512];
	struct kv *kv = kv_open_lmdb(path(name), map, err, sizeof err);

	if (kv == NULL)
		diag("open %s: %s", name, err);
	return kv;
}

static void
test_open(void)
{
	char err[512] = "";
	struct stat st;
	struct kv *kv;
	FILE *f;

	kv = open_store("main", 0);
	ok(kv != NULL, "a store opens in a directory it creates");
	ok(stat(path("main"), &st) == 0 && (st.st_mode & 077) == 0,
	    "the store's directory is private to its owner (0700)");
	ok(stat(path("main/data.mdb"), &st) == 0 && (st.st_mode & 077) == 0,
	    "the store's data file is private to its owner (0600)");
	kv_close(kv);

	ok(kv_open_lmdb(path("missing/kv"), 0, err, sizeof err) == NULL &&
	    strstr(err, "missing/kv") && strstr(err, "parent"),
	    "a directory whose parent is missing is refused, naming the path "
	    "and what to do");
	if ((f = fopen(path("afile"), "w")) != NULL)
		fclose(f);
	ok(kv_open_lmdb(path("afile"), 0, err, sizeof err) == NULL &&
	    strstr(err, "not a directory"),
	    "a path that is a file is refused as not a directory");
	ok(kv_open_lmdb("", 0, err, sizeof err) == NULL &&
	    kv_open_lmdb(NULL, 0, err, sizeof err) == NULL &&
	    strstr(err, "no directory"),
	    "an empty or missing directory name is refused");
	kv_close(NULL);
	ok(1, "closing no store does nothing");
}

static void
test_round_trips(struct kv *kv)
{
	static const char bin[] = "a\0b\xff\x00\x80z";
	static const char k1[] = "k\0one", k2[] = "k";
	char *big;

	ok(set(kv, "p", S("plain"), S("value"), 0) == KV_OK &&
	    holds(kv, "p", S("plain"), S("value")),
	    "a value set is the value got");
	ok(set(kv, "p", S("bin"), bin, sizeof bin, 0) == KV_OK &&
	    holds(kv, "p", S("bin"), bin, sizeof bin),
	    "values keep every byte, NUL and 0xff included");
	ok(set(kv, "p", k1, sizeof k1, S("with nul"), 0) == KV_OK &&
	    set(kv, "p", k2, sizeof k2 - 1, S("without"), 0) == KV_OK &&
	    holds(kv, "p", k1, sizeof k1, S("with nul")) &&
	    holds(kv, "p", k2, sizeof k2 - 1, S("without")),
	    "a key with a NUL is its own key, not the bytes before the NUL");
	ok(set(kv, "p", S("empty"), "", 0, 0) == KV_OK &&
	    get(kv, "p", S("empty")) == KV_OK && R.len == 0,
	    "an empty value is stored and found, empty");
	ok(set(kv, "p", S("nullval"), NULL, 0, 0) == KV_OK &&
	    get(kv, "p", S("nullval")) == KV_OK && R.len == 0,
	    "no value pointer with length 0 stores an empty value");
	ok(GET(kv, "p", "never-set") == KV_NOT_FOUND && R.value == NULL,
	    "a key never set is not found");
	ok(SET(kv, "p", "plain", "second", 0) == KV_OK &&
	    holds(kv, "p", S("plain"), S("second")),
	    "set replaces the value");
	ok(del(kv, "p", S("plain")) == KV_OK &&
	    GET(kv, "p", "plain") == KV_NOT_FOUND,
	    "a deleted key is gone");
	ok(del(kv, "p", S("plain")) == KV_NOT_FOUND,
	    "deleting a missing key is not found");
	if ((big = malloc(KV_VALUE_MAX)) == NULL)
		return;
	for (size_t i = 0; i < KV_VALUE_MAX; i++)
		big[i] = (char)(i * 7 + i / 251);
	ok(set(kv, "p", S("big"), big, KV_VALUE_MAX, 0) == KV_OK &&
	    holds(kv, "p", S("big"), big, KV_VALUE_MAX),
	    "a value of exactly KV_VALUE_MAX bytes round-trips");
	ok(set(kv, "p", S("big"), big, KV_VALUE_MAX + 1, 0) == KV_ERROR &&
	    strstr(R.msg, "1 MiB") &&
	    holds(kv, "p", S("big"), big, KV_VALUE_MAX),
	    "a value one byte longer is refused and the old one stays");
	free(big);
}

static void
test_namespaces(struct kv *kv)
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
		all &= set(kv, k[i].ns, k[i].key, k[i].klen, S(v), 0) == KV_OK;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof v, "v%zu", i);
		all &= holds(kv, k[i].ns, k[i].key, k[i].klen, S(v));
	}
	ok(all, "keys of different pools never meet, even with NUL, ':' or "
	    "a pool name that is a prefix of another");
	ok(GET(kv, "c", "x") == KV_NOT_FOUND,
	    "a pool does not see another pool's key of the same name");
	ok(del(kv, "b", S("x")) == KV_OK && holds(kv, "a", S("x"), S("v0")),
	    "deleting in one pool leaves the same key of another");
	ok(incr(kv, "p2", S("n"), 5, 0) == KV_OK && R.number == 5 &&
	    incr(kv, "p3", S("n"), 1, 0) == KV_OK && R.number == 1,
	    "counters of the same name in two pools count apart");
}

static void
test_incr(struct kv *kv)
{
	static const char *bad[] = { "", " 1", "1 ", "+1", "01", "-0", "1.5",
	    "0x10", "1e3", "-", "9223372036854775808",
	    "-9223372036854775809", "12345678901234567890123" };
	int all = 1;

	ok(incr(kv, "i", S("fresh"), 5, 0) == KV_OK && R.number == 5 &&
	    holds(kv, "i", S("fresh"), S("5")),
	    "incr of a missing key counts from 0 and stores the decimal");
	ok(SET(kv, "i", "ten", "10", 0) == KV_OK &&
	    incr(kv, "i", S("ten"), -3, 0) == KV_OK && R.number == 7 &&
	    holds(kv, "i", S("ten"), S("7")),
	    "incr by a negative amount counts down");
	ok(incr(kv, "i", S("zero"), 0, 0) == KV_OK && R.number == 0 &&
	    holds(kv, "i", S("zero"), S("0")),
	    "incr by 0 of a missing key creates it as 0");
	ok(SET(kv, "i", "word", "abc", 0) == KV_OK &&
	    incr(kv, "i", S("word"), 1, 0) == KV_NOT_INTEGER &&
	    strstr(R.msg, "not a decimal integer") &&
	    holds(kv, "i", S("word"), S("abc")),
	    "incr of a non-integer is KV_NOT_INTEGER and leaves it alone");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (SET(kv, "i", "bad", bad[i], 0) != KV_OK ||
		    incr(kv, "i", S("bad"), 1, 0) != KV_NOT_INTEGER) {
			diag("'%s' counted", bad[i]);
			all = 0;
		}
	ok(all, "spaces, '+', leading zeros, -0, fractions, hex and numbers "
	    "past int64 are not integers, as in Redis");
	ok(set(kv, "i", S("nul"), "1\0002", 3, 0) == KV_OK &&
	    incr(kv, "i", S("nul"), 1, 0) == KV_NOT_INTEGER,
	    "a number with a NUL inside is not an integer");
	ok(SET(kv, "i", "max", "9223372036854775807", 0) == KV_OK &&
	    incr(kv, "i", S("max"), 1, 0) == KV_ERROR &&
	    strstr(R.msg, "overflow") &&
	    holds(kv, "i", S("max"), S("9223372036854775807")),
	    "incr past INT64_MAX is an error and leaves the value");
	ok(SET(kv, "i", "min", "-9223372036854775808", 0) == KV_OK &&
	    incr(kv, "i", S("min"), 0, 0) == KV_OK && R.number == INT64_MIN &&
	    incr(kv, "i", S("min"), -1, 0) == KV_ERROR &&
	    strstr(R.msg, "overflow"),
	    "INT64_MIN is an integer, and one below it is an overflow");
	ok(SET(kv, "i", "large", "9223372036854775000", 0) == KV_OK &&
	    incr(kv, "i", S("large"), 7, 0) == KV_OK &&
	    R.number == 9223372036854775007LL,
	    "counters past 2^53 count exactly");
	ok(incr(kv, "i", S("fresh"), INT64_MIN, 0) == KV_OK &&
	    R.number == INT64_MIN + 5,
	    "incr by INT64_MIN of a positive counter is exact");
}

/* Keys whose fate is decided by one sleep. */
static void
test_ttl(struct kv *kv)
{
	int before;

	before = SET(kv, "t", "short", "v", 200) == KV_OK &&
	    GET(kv, "t", "short") == KV_OK;
	before &= SET(kv, "t", "cleared", "v", 200) == KV_OK &&
	    SET(kv, "t", "cleared", "w", 0) == KV_OK;
	before &= SET(kv, "t", "added", "v", 0) == KV_OK &&
	    SET(kv, "t", "added", "w", 200) == KV_OK;
	before &= SET(kv, "t", "delme", "v", 200) == KV_OK;
	before &= incr(kv, "t", S("born"), 1, 200) == KV_OK;
	before &= SET(kv, "t", "kept", "5", 0) == KV_OK &&
	    incr(kv, "t", S("kept"), 1, 200) == KV_OK;
	before &= SET(kv, "t", "old", "5", 200) == KV_OK &&
	    incr(kv, "t", S("old"), 1, 0) == KV_OK;
	before &= SET(kv, "t", "again", "41", 200) == KV_OK;
	before &= SET(kv, "t", "long", "v", KV_TTL_MAX) == KV_OK;
	ok(before, "keys with ttls are there before they expire");
	sleep_ms(300);
	ok(GET(kv, "t", "short") == KV_NOT_FOUND,
	    "a key is not found once its ttl has passed");
	ok(holds(kv, "t", S("cleared"), S("w")),
	    "set with ttl 0 clears an earlier expiry");
	ok(GET(kv, "t", "added") == KV_NOT_FOUND,
	    "set with a ttl gives an expiry to a key that had none");
	ok(del(kv, "t", S("delme")) == KV_NOT_FOUND,
	    "deleting an expired key is not found");
	ok(GET(kv, "t", "born") == KV_NOT_FOUND,
	    "incr's ttl applies to the key it creates");
	ok(holds(kv, "t", S("kept"), S("6")),
	    "incr's ttl does not apply to a key that exists");
	ok(GET(kv, "t", "old") == KV_NOT_FOUND,
	    "incr keeps an existing key's expiry");
	ok(incr(kv, "t", S("again"), 1, 0) == KV_OK && R.number == 1,
	    "incr of an expired key counts from 0 again");
	ok(holds(kv, "t", S("long"), S("v")),
	    "a ttl of exactly KV_TTL_MAX is taken");
	ok(SET(kv, "t", "toolong", "v", KV_TTL_MAX + 1) == KV_ERROR &&
	    strstr(R.msg, "ten years") &&
	    incr(kv, "t", S("toolong"), 1, KV_TTL_MAX + 1) == KV_ERROR &&
	    GET(kv, "t", "toolong") == KV_NOT_FOUND,
	    "a ttl past KV_TTL_MAX is refused and nothing is stored");
}

static int
refused(enum kv_status st, const char *words)
{
	return st == KV_ERROR && strstr(R.msg, words) != NULL;
}

static void
test_wrong_arguments(struct kv *kv)
{
	char key[KV_KEY_MAX + 1], ns[KV_NS_MAX + 2];
	char *huge = calloc(1, 1 << 20);

	memset(key, 'k', sizeof key);
	memset(ns, 'n', sizeof ns);
	ns[KV_NS_MAX + 1] = '\0';
	ok(refused(get(kv, "p", "", 0), "empty key") &&
	    refused(set(kv, "p", "", 0, S("v"), 0), "empty key") &&
	    refused(del(kv, "p", "", 0), "empty key") &&
	    refused(incr(kv, "p", "", 0, 1, 0), "empty key") &&
	    refused(get(kv, "p", NULL, 0), "empty key"),
	    "an empty key is refused by every operation");
	ok(set(kv, "p", key, KV_KEY_MAX, S("v"), 0) == KV_OK &&
	    holds(kv, "p", key, KV_KEY_MAX, S("v")),
	    "a key of exactly KV_KEY_MAX bytes is taken");
	ok(refused(set(kv, "p", key, KV_KEY_MAX + 1, S("v"), 0),
	    "longer than 255") &&
	    refused(get(kv, "p", key, KV_KEY_MAX + 1), "longer than 255") &&
	    refused(del(kv, "p", key, KV_KEY_MAX + 1), "longer than 255") &&
	    refused(incr(kv, "p", key, KV_KEY_MAX + 1, 1, 0),
	    "longer than 255"),
	    "a key one byte too long is refused by every operation");
	ok(huge != NULL && refused(set(kv, "p", huge, 1 << 20, S("v"), 0),
	    "longer than 255"), "a 1 MiB key is refused");
	free(huge);
	ok(refused(set(kv, "p", S("k"), NULL, 5, 0), "no value"),
	    "a length without a value is refused");
	ok(refused(GET(kv, NULL, "k"), "namespace") &&
	    refused(GET(kv, "", "k"), "namespace"),
	    "no namespace, or an empty one, is refused");
	ok(refused(SET(kv, "a:b", "k", "v", 0), "':'"),
	    "a namespace with ':' is refused");
	ok(refused(SET(kv, ns, "k", "v", 0), "namespace longer"),
	    "a namespace longer than KV_NS_MAX is refused");
	ns[KV_NS_MAX] = '\0';
	ok(set(kv, ns, key, KV_KEY_MAX, S("v"), 0) == KV_OK &&
	    holds(kv, ns, key, KV_KEY_MAX, S("v")),
	    "the longest namespace with the longest key is stored");
	res_reset();
	kv_get(NULL, "p", S("k"), res_cb, &R);
	ok(res_done() == KV_ERROR && strstr(R.msg, "no store"),
	    "an operation on no store answers KV_ERROR");
	kv_set(kv, "p", S("nocb"), S("v"), 0, NULL, NULL);
	ok(holds(kv, "p", S("nocb"), S("v")),
	    "an operation without a callback is still done");
}

struct nest { struct kv *kv; int inner; };

static void
nest_cb(void *arg, const struct kv_reply *r)
{
	struct nest *n = arg;
	struct res inner = { 0 };

	kv_set(n->kv, "p", S("nested"), r->value, r->len, 0, res_cb, &inner);
	n->inner = inner.calls == 1 && inner.st == KV_OK;
	free(inner.value);
}

static void
test_reentry(struct kv *kv)
{
	struct nest n = { kv, 0 };

	SET(kv, "p", "outer", "from outer", 0);
	kv_get(kv, "p", S("outer"), nest_cb, &n);
	ok(n.inner && holds(kv, "p", S("nested"), S("from outer")),
	    "a callback may start another operation with the value it got");
}

static void
test_durable(void)
{
	struct kv *kv;
	pid_t pid;
	int status;

	if ((kv = open_store("dur", 0)) == NULL)
		return;
	SET(kv, "p", "kept", "across close", 0);
	SET(kv, "p", "ttl", "expires later", 60000);
	incr(kv, "p", S("n"), 41, 0);
	kv_close(kv);
	kv = open_store("dur", 0);
	ok(kv != NULL && holds(kv, "p", S("kept"), S("across close")) &&
	    holds(kv, "p", S("ttl"), S("expires later")) &&
	    incr(kv, "p", S("n"), 1, 0) == KV_OK && R.number == 42,
	    "what was written is there after closing and reopening");
	kv_close(kv);

	if ((pid = fork()) == 0) {
		struct kv *c = open_store("dur", 0);

		_exit(c != NULL && SET(c, "p", "crash", "acked", 0) == KV_OK ?
		    0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    (kv = open_store("dur", 0)) != NULL &&
	    holds(kv, "p", S("crash"), S("acked")),
	    "a write acknowledged by a process that dies without closing is "
	    "there after reopening");
	kv_close(kv);
}

static void
test_map_full(void)
{
	char val[3000], key[32];
	struct kv *kv;
	int acked = 0, full = 0, intact = 1;

	memset(val, 'x', sizeof val);
	if ((kv = open_store("full", 256 << 10)) == NULL)
		return;
	for (int i = 0; i < 1000 && !full; i++) {
		snprintf(key, sizeof key, "k%d", i);
		if (set(kv, "p", S(key), val, sizeof val, 0) == KV_OK)
			acked++;
		else
			full = 1;
	}
	ok(full && R.st == KV_FULL && strstr(R.msg, "kv-size"),
	    "filling a small map gives KV_FULL, saying to raise kv-size");
	diag("%d writes acknowledged before the map was full", acked);
	ok(acked > 10, "the map held writes before it was full");
	for (int i = 0; i < acked; i++) {
		snprintf(key, sizeof key, "k%d", i);
		intact &= holds(kv, "p", S(key), val, sizeof val);
	}
	ok(intact, "after KV_FULL every acknowledged write reads back");
	ok(del(kv, "p", S("k0")) == KV_OK && GET(kv, "p", "k0") ==
	    KV_NOT_FOUND, "after KV_FULL a key can still be deleted");
	ok(del(kv, "p", S("k1")) == KV_OK && SET(kv, "p", "small", "s", 0) ==
	    KV_OK, "after deleting, the store takes writes again");
	kv_close(kv);
	if ((kv = open_store("full", 256 << 10)) == NULL)
		return;
	for (int i = 2; i < acked; i++) {
		snprintf(key, sizeof key, "k%d", i);
		intact &= holds(kv, "p", S(key), val, sizeof val);
	}
	ok(intact && GET(kv, "p", "k0") == KV_NOT_FOUND &&
	    holds(kv, "p", S("small"), S("s")),
	    "after reopening, every acknowledged write is there");
	kv_close(kv);
}

/* A file size limit stands in for a full disk: the commit cannot write. */
static void
test_commit_fails(void)
{
	struct rlimit old, lim;
	static char big[200 << 10];
	struct stat st;
	struct kv *kv;
	int failed;

	if ((kv = open_store("fsize", 0)) == NULL ||
	    stat(path("fsize/data.mdb"), &st) < 0 ||
	    getrlimit(RLIMIT_FSIZE, &old) < 0)
		return;
	SET(kv, "p", "before", "safe", 0);
	stat(path("fsize/data.mdb"), &st);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size;
	setrlimit(RLIMIT_FSIZE, &lim);
	failed = set(kv, "p", S("big"), big, sizeof big, 0) == KV_ERROR &&
	    strstr(R.msg, "not saved") != NULL;
	diag("%s", R.msg);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	ok(failed, "a write the file system refuses is KV_ERROR with the "
	    "reason");
	ok(GET(kv, "p", "big") == KV_NOT_FOUND &&
	    holds(kv, "p", S("before"), S("safe")),
	    "the refused write left nothing and lost nothing");
	ok(set(kv, "p", S("big"), big, sizeof big, 0) == KV_OK &&
	    holds(kv, "p", S("big"), big, sizeof big),
	    "once the file system takes writes again, so does the store");
	kv_close(kv);
}

static void
test_sweep(void)
{
	char key[32], err[256];
	struct kv *kv;
	long n;

	if ((kv = open_store("sweep", 0)) == NULL)
		return;
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "e%02d", i);
		SET(kv, "p", key, "v", 100);
	}
	SET(kv, "p", "live", "v", 0);
	SET(kv, "p", "later", "v", 60000);
	sleep_ms(150);
	n = kv_sweep(kv, 10, err, sizeof err);
	ok(n >= 0 && n <= 10, "a sweep examines no more entries than asked");
	/* Writes swept some already if setting them up took 100 ms. */
	n += kv_sweep(kv, 0, err, sizeof err);
	ok(n > 0 && n <= 40 && holds(kv, "p", S("live"), S("v")) &&
	    holds(kv, "p", S("later"), S("v")),
	    "sweeping removes expired keys and keeps the others");
	ok(kv_sweep(kv, 0, err, sizeof err) == 0,
	    "a whole sweep leaves no expired key behind, even among many in "
	    "a row");

	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "f%02d", i);
		SET(kv, "p", key, "v", 100);
	}
	sleep_ms(150);
	for (int i = 0; i < 20; i++)
		SET(kv, "p", "live", "v", 0);
	ok(kv_sweep(kv, 0, err, sizeof err) == 0 &&
	    holds(kv, "p", S("live"), S("v")),
	    "writes sweep expired keys as they go: none are left for a sweep");
	kv_close(kv);
}

int
main(void)
{
	struct kv *kv;

	if (mkdtemp(tmp) == NULL) {
		printf("1..0 # SKIP cannot make a temporary directory\n");
		return 0;
	}
	test_open();
	if ((kv = open_store("main", 0)) != NULL) {
		test_round_trips(kv);
		test_namespaces(kv);
		test_incr(kv);
		test_ttl(kv);
		test_wrong_arguments(kv);
		test_reentry(kv);
		kv_close(kv);
	}
	test_durable();
	test_map_full();
	test_commit_fails();
	test_sweep();
	ok(not_once == 0, "every operation answered exactly once, before it "
	    "returned");
	res_reset();
	if (tap_failed == 0) {
		char cmd[300];

		snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
		if (system(cmd) != 0)
			diag("could not remove %s", tmp);
	}
	return done_testing();
}
