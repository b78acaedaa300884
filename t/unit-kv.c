/*
 * unit-kv.c: the kv store's LMDB backend through kv.h, as the broker uses
 * it: the contract both backends keep (kvtest.h), then every limit and
 * wrong argument, durability across a close and across a crash, a full
 * map, a write the file system refuses, sweeping. Each operation must
 * answer exactly once before it returns. Uses tap.h, kvtest.h and a
 * temporary directory.
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
#include "kvtest.h"

static int not_once;		/* operations not answered exactly once */
static char tmp[] = "/tmp/unit-kv.XXXXXX";

/* LMDB answers before the call returns: exactly once, or it is counted. */
static enum kv_status
lmdb_wait(void)
{
	if (R.calls != 1)
		not_once++;
	return R.st;
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
	ok(refused(kvt_get(kv, "p", "", 0), "empty key") &&
	    refused(kvt_set(kv, "p", "", 0, S("v"), 0), "empty key") &&
	    refused(kvt_del(kv, "p", "", 0), "empty key") &&
	    refused(kvt_incr(kv, "p", "", 0, 1, 0), "empty key") &&
	    refused(kvt_get(kv, "p", NULL, 0), "empty key"),
	    "an empty key is refused by every operation");
	ok(kvt_set(kv, "p", key, KV_KEY_MAX, S("v"), 0) == KV_OK &&
	    kvt_holds(kv, "p", key, KV_KEY_MAX, S("v")),
	    "a key of exactly KV_KEY_MAX bytes is taken");
	ok(refused(kvt_set(kv, "p", key, KV_KEY_MAX + 1, S("v"), 0),
	    "longer than 255") &&
	    refused(kvt_get(kv, "p", key, KV_KEY_MAX + 1), "longer than 255") &&
	    refused(kvt_del(kv, "p", key, KV_KEY_MAX + 1), "longer than 255") &&
	    refused(kvt_incr(kv, "p", key, KV_KEY_MAX + 1, 1, 0),
	    "longer than 255"),
	    "a key one byte too long is refused by every operation");
	ok(huge != NULL && refused(kvt_set(kv, "p", huge, 1 << 20, S("v"), 0),
	    "longer than 255"), "a 1 MiB key is refused");
	free(huge);
	ok(refused(kvt_set(kv, "p", S("k"), NULL, 5, 0), "no value"),
	    "a length without a value is refused");
	ok(refused(GET(kv, NULL, "k"), "namespace") &&
	    refused(GET(kv, "", "k"), "namespace"),
	    "no namespace, or an empty one, is refused");
	ok(refused(SET(kv, "a:b", "k", "v", 0), "':'"),
	    "a namespace with ':' is refused");
	ok(refused(SET(kv, ns, "k", "v", 0), "namespace longer"),
	    "a namespace longer than KV_NS_MAX is refused");
	ns[KV_NS_MAX] = '\0';
	ok(kvt_set(kv, ns, key, KV_KEY_MAX, S("v"), 0) == KV_OK &&
	    kvt_holds(kv, ns, key, KV_KEY_MAX, S("v")),
	    "the longest namespace with the longest key is stored");
	res_reset(&R);
	kv_get(NULL, "p", S("k"), res_cb, &R);
	ok(lmdb_wait() == KV_ERROR && strstr(R.msg, "no store"),
	    "an operation on no store answers KV_ERROR");
	kv_set(kv, "p", S("nocb"), S("v"), 0, NULL, NULL);
	ok(kvt_holds(kv, "p", S("nocb"), S("v")),
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
	ok(n.inner && kvt_holds(kv, "p", S("nested"), S("from outer")),
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
	kvt_incr(kv, "p", S("n"), 41, 0);
	kv_close(kv);
	kv = open_store("dur", 0);
	ok(kv != NULL && kvt_holds(kv, "p", S("kept"), S("across close")) &&
	    kvt_holds(kv, "p", S("ttl"), S("expires later")) &&
	    kvt_incr(kv, "p", S("n"), 1, 0) == KV_OK && R.number == 42,
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
	    kvt_holds(kv, "p", S("crash"), S("acked")),
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
		if (kvt_set(kv, "p", S(key), val, sizeof val, 0) == KV_OK)
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
		intact &= kvt_holds(kv, "p", S(key), val, sizeof val);
	}
	ok(intact, "after KV_FULL every acknowledged write reads back");
	ok(kvt_del(kv, "p", S("k0")) == KV_OK && GET(kv, "p", "k0") ==
	    KV_NOT_FOUND, "after KV_FULL a key can still be deleted");
	ok(kvt_del(kv, "p", S("k1")) == KV_OK && SET(kv, "p", "small", "s", 0) ==
	    KV_OK, "after deleting, the store takes writes again");
	kv_close(kv);
	if ((kv = open_store("full", 256 << 10)) == NULL)
		return;
	for (int i = 2; i < acked; i++) {
		snprintf(key, sizeof key, "k%d", i);
		intact &= kvt_holds(kv, "p", S(key), val, sizeof val);
	}
	ok(intact && GET(kv, "p", "k0") == KV_NOT_FOUND &&
	    kvt_holds(kv, "p", S("small"), S("s")),
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
	failed = kvt_set(kv, "p", S("big"), big, sizeof big, 0) == KV_ERROR &&
	    strstr(R.msg, "not saved") != NULL;
	diag("%s", R.msg);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	ok(failed, "a write the file system refuses is KV_ERROR with the "
	    "reason");
	ok(GET(kv, "p", "big") == KV_NOT_FOUND &&
	    kvt_holds(kv, "p", S("before"), S("safe")),
	    "the refused write left nothing and lost nothing");
	ok(kvt_set(kv, "p", S("big"), big, sizeof big, 0) == KV_OK &&
	    kvt_holds(kv, "p", S("big"), big, sizeof big),
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
	kvt_sleep_ms(150);
	n = kv_sweep(kv, 10, err, sizeof err);
	ok(n >= 0 && n <= 10, "a sweep examines no more entries than asked");
	/* Writes swept some already if setting them up took 100 ms. */
	n += kv_sweep(kv, 0, err, sizeof err);
	ok(n > 0 && n <= 40 && kvt_holds(kv, "p", S("live"), S("v")) &&
	    kvt_holds(kv, "p", S("later"), S("v")),
	    "sweeping removes expired keys and keeps the others");
	ok(kv_sweep(kv, 0, err, sizeof err) == 0,
	    "a whole sweep leaves no expired key behind, even among many in "
	    "a row");

	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "f%02d", i);
		SET(kv, "p", key, "v", 100);
	}
	kvt_sleep_ms(150);
	for (int i = 0; i < 20; i++)
		SET(kv, "p", "live", "v", 0);
	ok(kv_sweep(kv, 0, err, sizeof err) == 0 &&
	    kvt_holds(kv, "p", S("live"), S("v")),
	    "writes sweep expired keys as they go: none are left for a sweep");
	kv_close(kv);
}

int
main(void)
{
	struct kv *kv;

	kvt_wait = lmdb_wait;
	if (mkdtemp(tmp) == NULL) {
		printf("1..0 # SKIP cannot make a temporary directory\n");
		return 0;
	}
	test_open();
	if ((kv = open_store("main", 0)) != NULL) {
		kvt_test_round_trips(kv);
		kvt_test_namespaces(kv);
		kvt_test_incr(kv);
		kvt_test_ttl(kv, NULL);
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
	res_reset(&R);
	if (tap_failed == 0) {
		char cmd[300];

		snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
		if (system(cmd) != 0)
			diag("could not remove %s", tmp);
	}
	return done_testing();
}
