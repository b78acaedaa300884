/*
 * kv_lmdb.c: the embedded store, one LMDB environment in a directory
 * (opened MDB_NOTLS, one named database "kv") holding every pool's keys.
 * Uses liblmdb; plugs into kv.c through its table of operations.
 *
 * Layout. A stored key is ns, a NUL, then the key: ns never holds a NUL,
 * so the first NUL ends it and no two pools' keys can meet. A stored value
 * is its expiry (uint64 ms since the epoch, little-endian, 0: none) and
 * then the bytes.
 *
 * Every write is one transaction committed (with LMDB's default sync)
 * before the callback hears KV_OK; a failed one is aborted and changes
 * nothing. Expired keys are missing to every operation and are removed
 * by sweeping: each write also examines the next LKV_SWEEP_STEP entries
 * after where the previous sweep stopped (in a child transaction, so a
 * failing sweep never costs the write), and kv_sweep runs a longer one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "kv.h"

#define LKV_STORED_MAX	(KV_NS_MAX + 1 + KV_KEY_MAX)
#define LKV_HEADER	8		/* the expiry before a value */
#define LKV_SWEEP_STEP	8		/* entries examined per write */
#define LKV_SWEEP_CHUNK	1000		/* entries per kv_sweep transaction */

struct lkv {
	MDB_env		*env;		/* NULL after a failed reopen */
	MDB_dbi		 dbi;
	char		*dir;
	size_t		 map_size;
	char		 open_err[256];	/* why env is NULL */
	char		 sweep_at[LKV_STORED_MAX];	/* next to examine */
	size_t		 sweep_len;	/* 0: the first key */
};

static uint64_t
lkv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
lkv_expiry(uint64_t ttl_ms)
{
	return ttl_ms == 0 ? 0 : lkv_now() + ttl_ms;
}

static void
lkv_put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
lkv_get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Whether a stored value has expired; one too short to hold its header
 * is damaged and counts as expired, so that sweeping removes it. */
static int
lkv_expired(const MDB_val *v, uint64_t now)
{
	uint64_t exp;

	if (v->mv_size < LKV_HEADER)
		return 1;
	exp = lkv_get_u64(v->mv_data);
	return exp != 0 && exp <= now;
}

static void
lkv_key(char *buf, const char *ns, const char *key, size_t klen, MDB_val *k)
{
	size_t nslen = strlen(ns);

	memcpy(buf, ns, nslen);
	buf[nslen] = '\0';
	memcpy(buf + nslen + 1, key, klen);
	k->mv_data = buf;
	k->mv_size = nslen + 1 + klen;
}

/* The message for an LMDB or system error rc, saying what to do. */
static const char *
lkv_why(struct lkv *l, int rc, const char *what, char *buf, size_t len)
{
	switch (rc) {
	case MDB_MAP_FULL:
		snprintf(buf, len, "kv store is full (%zu bytes in %s): raise "
		    "kv-size in moonboxd.conf, or delete keys", l->map_size,
		    l->dir);
		break;
	case ENOSPC:
		snprintf(buf, len, "kv: %s: no space left on the device of "
		    "%s: free disk space", what, l->dir);
		break;
	case EDQUOT:
		snprintf(buf, len, "kv: %s: disk quota exceeded in %s: raise "
		    "the quota or free space", what, l->dir);
		break;
	case EFBIG:
		snprintf(buf, len, "kv: %s: file size limit reached in %s: "
		    "raise the limit (ulimit -f)", what, l->dir);
		break;
	case MDB_READERS_FULL:
		snprintf(buf, len, "kv: %s: too many readers of %s: stop "
		    "other processes using it", what, l->dir);
		break;
	default:
		snprintf(buf, len, "kv: %s: %s (in %s)", what,
		    mdb_strerror(rc), l->dir);
	}
	return buf;
}

static void
lkv_fail(struct lkv *l, int rc, const char *what, kv_cb cb, void *arg)
{
	char buf[512];

	kv_answer(cb, arg, rc == MDB_MAP_FULL ? KV_FULL : KV_ERROR,
	    lkv_why(l, rc, what, buf, sizeof buf));
}

static int
lkv_env_open(struct lkv *l, char *err, size_t len)
{
	MDB_txn *txn;
	int rc, dead;

	if ((rc = mdb_env_create(&l->env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_mapsize(l->env, l->map_size)) != 0 ||
	    (rc = mdb_env_set_maxdbs(l->env, 1)) != 0 ||
	    (rc = mdb_env_open(l->env, l->dir, MDB_NOTLS, 0600)) != 0)
		goto fail;
	if (mdb_env_get_maxkeysize(l->env) < LKV_STORED_MAX) {
		snprintf(err, len, "kv: this liblmdb takes keys of at most %d "
		    "bytes, %d are needed: use the stock build of liblmdb",
		    mdb_env_get_maxkeysize(l->env), LKV_STORED_MAX);
		goto closed;
	}
	mdb_reader_check(l->env, &dead);
	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "kv", MDB_CREATE, &l->dbi)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	lkv_why(l, rc, "cannot open the store", err, len);
closed:
	mdb_env_close(l->env);
	l->env = NULL;
	return -1;
}

static int
lkv_mkdir(const char *dir, char *err, size_t len)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		snprintf(err, len, "kv: cannot create the directory %s: %s "
		    "(create its parent, or choose another state directory)",
		    dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, len, "kv: %s is not a directory: move it away "
		    "or choose another state directory", dir);
		return -1;
	}
	return 0;
}

/*
 * A transaction; after a fatal error (MDB_PANIC) the environment is
 * reopened, after another process grew the map it is adopted.
 */
static int
lkv_begin(struct lkv *l, unsigned flags, MDB_txn **txn)
{
	int rc = MDB_PANIC;

	for (int tries = 0; tries < 2; tries++) {
		if (l->env == NULL && lkv_env_open(l, l->open_err,
		    sizeof l->open_err) < 0)
			return MDB_PANIC;
		if ((rc = mdb_txn_begin(l->env, NULL, flags, txn)) == 0)
			return 0;
		if (rc == MDB_MAP_RESIZED) {
			int rc2 = mdb_env_set_mapsize(l->env, 0);

			if (rc2 != 0)
				return rc2;
		} else if (rc == MDB_PANIC) {
			mdb_env_close(l->env);
			l->env = NULL;
		} else
			return rc;
	}
	return rc;
}

static int
lkv_begin_or_fail(struct lkv *l, unsigned flags, MDB_txn **txn, kv_cb cb,
    void *arg)
{
	int rc = lkv_begin(l, flags, txn);

	if (rc == 0)
		return 0;
	if (l->env == NULL)
		kv_answer(cb, arg, KV_ERROR, l->open_err);
	else
		lkv_fail(l, rc, "cannot start a transaction", cb, arg);
	return -1;
}

/* Where the next sweep starts: the entry k, or the first after a wrap. */
static void
lkv_sweep_mark(struct lkv *l, int rc, const MDB_val *k)
{
	if (rc == 0 && k->mv_size <= sizeof l->sweep_at) {
		memcpy(l->sweep_at, k->mv_data, k->mv_size);
		l->sweep_len = k->mv_size;
	} else
		l->sweep_len = 0;
}

/*
 * Remove the expired among the next max entries of txn; *seen counts the
 * entries examined, *wrapped says the end was reached. -rc on error.
 */
static long
lkv_sweep_txn(struct lkv *l, MDB_txn *txn, size_t max, size_t *seen,
    int *wrapped)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t now = lkv_now();
	long removed = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, l->dbi, &c)) != 0)
		return -rc;
	k.mv_data = l->sweep_at;
	k.mv_size = l->sweep_len;
	rc = mdb_cursor_get(c, &k, &v, l->sweep_len > 0 ? MDB_SET_RANGE :
	    MDB_FIRST);
	for (*seen = 0; rc == 0 && *seen < max; ++*seen) {
		if (lkv_expired(&v, now)) {
			if ((rc = mdb_cursor_del(c, 0)) != 0)
				break;
			removed++;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	*wrapped = rc == MDB_NOTFOUND;
	if (rc == 0 || rc == MDB_NOTFOUND)
		lkv_sweep_mark(l, rc, &k);
	mdb_cursor_close(c);
	return rc == 0 || rc == MDB_NOTFOUND ? removed : -rc;
}

/* A write's bounded sweep, in a child transaction that may fail alone. */
static void
lkv_sweep_some(struct lkv *l, MDB_txn *txn)
{
	MDB_txn *child;
	size_t seen;
	int wrapped;

	if (mdb_txn_begin(l->env, txn, 0, &child) != 0)
		return;
	if (lkv_sweep_txn(l, child, LKV_SWEEP_STEP, &seen, &wrapped) < 0 ||
	    mdb_txn_commit(child) != 0)
		mdb_txn_abort(child);
}

/* Commit a write; KV_OK with number, or the reason it was not saved. */
static void
lkv_commit(struct lkv *l, MDB_txn *txn, int64_t number, kv_cb cb,
    void *arg)
{
	struct kv_reply r;
	int rc;

	lkv_sweep_some(l, txn);
	if ((rc = mdb_txn_commit(txn)) != 0) {
		lkv_fail(l, rc, "the write was not saved", cb, arg);
		return;
	}
	memset(&r, 0, sizeof r);
	r.status = KV_OK;
	r.number = number;
	cb(arg, &r);
}

static void
lkv_get(void *be, const char *ns, const char *key, size_t klen, kv_cb cb,
    void *arg)
{
	struct lkv *l = be;
	char kbuf[LKV_STORED_MAX];
	struct kv_reply r;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if (lkv_begin_or_fail(l, MDB_RDONLY, &txn, cb, arg) < 0)
		return;
	lkv_key(kbuf, ns, key, klen, &k);
	if ((rc = mdb_get(txn, l->dbi, &k, &v)) != 0 ||
	    lkv_expired(&v, lkv_now())) {
		mdb_txn_abort(txn);
		if (rc != 0 && rc != MDB_NOTFOUND)
			lkv_fail(l, rc, "cannot read", cb, arg);
		else
			kv_answer(cb, arg, KV_NOT_FOUND, "kv: no such key");
		return;
	}
	memset(&r, 0, sizeof r);
	r.len = v.mv_size - LKV_HEADER;
	/* The bytes live in the map only while txn does; copy them out so
	 * that the callback may start other operations. */
	if ((r.value = malloc(r.len + 1)) == NULL) {
		mdb_txn_abort(txn);
		kv_answer(cb, arg, KV_ERROR, "kv: out of memory");
		return;
	}
	memcpy((char *)r.value, (char *)v.mv_data + LKV_HEADER, r.len);
	mdb_txn_abort(txn);
	r.status = KV_OK;
	cb(arg, &r);
	free((char *)r.value);
}

static void
lkv_set(void *be, const char *ns, const char *key, size_t klen,
    const char *value, size_t vlen, uint64_t ttl_ms, kv_cb cb, void *arg)
{
	struct lkv *l = be;
	char kbuf[LKV_STORED_MAX];
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if (lkv_begin_or_fail(l, 0, &txn, cb, arg) < 0)
		return;
	lkv_key(kbuf, ns, key, klen, &k);
	v.mv_size = LKV_HEADER + vlen;
	if ((rc = mdb_put(txn, l->dbi, &k, &v, MDB_RESERVE)) != 0) {
		mdb_txn_abort(txn);
		lkv_fail(l, rc, "the write was not saved", cb, arg);
		return;
	}
	lkv_put_u64(v.mv_data, lkv_expiry(ttl_ms));
	memcpy((char *)v.mv_data + LKV_HEADER, value, vlen);
	lkv_commit(l, txn, 0, cb, arg);
}

static void
lkv_del(void *be, const char *ns, const char *key, size_t klen, kv_cb cb,
    void *arg)
{
	struct lkv *l = be;
	char kbuf[LKV_STORED_MAX];
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if (lkv_begin_or_fail(l, 0, &txn, cb, arg) < 0)
		return;
	lkv_key(kbuf, ns, key, klen, &k);
	if ((rc = mdb_get(txn, l->dbi, &k, &v)) == 0 &&
	    !lkv_expired(&v, lkv_now()))
		rc = mdb_del(txn, l->dbi, &k, NULL);
	else if (rc == 0)
		rc = MDB_NOTFOUND;	/* expired: the sweep removes it */
	if (rc != 0) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND)
			kv_answer(cb, arg, KV_NOT_FOUND, "kv: no such key");
		else
			lkv_fail(l, rc, "the delete was not saved", cb, arg);
		return;
	}
	lkv_commit(l, txn, 0, cb, arg);
}

/*
 * The counter's new value and expiry from what is stored under k. If it
 * cannot be counted: the status and why, or why NULL and an LMDB error.
 */
static enum kv_status
lkv_count(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, int64_t by, uint64_t ttl_ms,
    int64_t *n, uint64_t *exp, const char **why, int *rc)
{
	MDB_val v;
	int64_t cur = 0;

	*why = NULL;
	*exp = lkv_expiry(ttl_ms);
	*rc = mdb_get(txn, dbi, k, &v);
	if (*rc == 0 && !lkv_expired(&v, lkv_now())) {
		*exp = lkv_get_u64(v.mv_data);
		if (!kv_parse_int((char *)v.mv_data + LKV_HEADER,
		    v.mv_size - LKV_HEADER, &cur)) {
			*why = "kv: incr of a value that is not a decimal "
			    "integer";
			return KV_NOT_INTEGER;
		}
	} else if (*rc != 0 && *rc != MDB_NOTFOUND)
		return KV_ERROR;
	if (!kv_add(cur, by, n)) {
		*why = "kv: incr would overflow a 64-bit integer";
		return KV_ERROR;
	}
	return KV_OK;
}

static void
lkv_incr(void *be, const char *ns, const char *key, size_t klen, int64_t by,
    uint64_t ttl_ms, kv_cb cb, void *arg)
{
	struct lkv *l = be;
	char kbuf[LKV_STORED_MAX];
	unsigned char vbuf[LKV_HEADER + 24];
	enum kv_status st;
	const char *why;
	MDB_txn *txn;
	MDB_val k, v;
	uint64_t exp;
	int64_t n;
	int rc;

	if (lkv_begin_or_fail(l, 0, &txn, cb, arg) < 0)
		return;
	lkv_key(kbuf, ns, key, klen, &k);
	st = lkv_count(txn, l->dbi, &k, by, ttl_ms, &n, &exp, &why, &rc);
	if (st == KV_OK) {
		lkv_put_u64(vbuf, exp);
		v.mv_data = vbuf;
		v.mv_size = LKV_HEADER + (size_t)snprintf((char *)vbuf +
		    LKV_HEADER, 24, "%lld", (long long)n);
		if ((rc = mdb_put(txn, l->dbi, &k, &v, 0)) == 0) {
			lkv_commit(l, txn, n, cb, arg);
			return;
		}
	}
	mdb_txn_abort(txn);
	if (why != NULL)
		kv_answer(cb, arg, st, why);
	else
		lkv_fail(l, rc, "the increment was not saved", cb, arg);
}

static long
lkv_sweep(void *be, size_t max, char *err, size_t len)
{
	struct lkv *l = be;
	size_t done = 0, seen;
	long total = 0, n;
	MDB_txn *txn;
	int rc, wrapped = 0;

	if (max == 0)
		l->sweep_len = 0;	/* one whole pass from the start */
	while (!wrapped && (max == 0 || done < max)) {
		size_t chunk = max == 0 || max - done > LKV_SWEEP_CHUNK ?
		    LKV_SWEEP_CHUNK : max - done;

		if ((rc = lkv_begin(l, 0, &txn)) != 0)
			goto fail;
		if ((n = lkv_sweep_txn(l, txn, chunk, &seen, &wrapped)) < 0) {
			mdb_txn_abort(txn);
			rc = (int)-n;
			goto fail;
		}
		if ((rc = mdb_txn_commit(txn)) != 0)
			goto fail;
		total += n;
		done += seen;
	}
	return total;
fail:
	if (l->env == NULL)
		snprintf(err, len, "%s", l->open_err);
	else
		lkv_why(l, rc, "the sweep was not saved", err, len);
	return -1;
}

static void
lkv_close(void *be)
{
	struct lkv *l = be;

	if (l->env != NULL)
		mdb_env_close(l->env);
	free(l->dir);
	free(l);
}

static const struct kv_ops lkv_ops = {
	"lmdb", lkv_get, lkv_set, lkv_del, lkv_incr, lkv_sweep, lkv_close
};

struct kv *
kv_open_lmdb(const char *dir, size_t map_size, char *err, size_t len)
{
	struct lkv *l;

	if (dir == NULL || *dir == '\0') {
		snprintf(err, len, "kv: no directory given for the store");
		return NULL;
	}
	if (lkv_mkdir(dir, err, len) < 0)
		return NULL;
	if ((l = calloc(1, sizeof *l)) == NULL ||
	    (l->dir = strdup(dir)) == NULL) {
		free(l);
		snprintf(err, len, "kv: out of memory");
		return NULL;
	}
	l->map_size = map_size == 0 ? KV_LMDB_DEFAULT_MAP : map_size;
	if (lkv_env_open(l, err, len) < 0) {
		lkv_close(l);
		return NULL;
	}
	return kv_new(&lkv_ops, l, err, len);
}
