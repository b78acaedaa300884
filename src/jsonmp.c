/*
 * jsonmp.c: JSON <-> msgpack through jansson's tree. Integers stay integers
 * and reals stay reals both ways. Uses jansson and msgpack-c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conv.h"
#include "utf8.h"
#include "jsonmp.h"
#include "limit.h"
#include "mpr.h"

static int
jmp_fail(char *err, size_t len, const char *what)
{
	snprintf(err, len, "%s", what);
	return -1;
}

static int
jmp_pack(msgpack_packer *pk, json_t *j, int depth, char *err, size_t len)
{
	const char *key;
	json_t *v;
	size_t i;

	/* Count containers, as conv.c and mpr.c do: the 65th nested one is
	 * refused even when empty, and a scalar inside the 64th is fine. */
	if ((json_is_array(j) || json_is_object(j)) && depth >= LIM_MAX_DEPTH)
		return jmp_fail(err, len, "nesting is deeper than 64 levels");
	switch (json_typeof(j)) {
	case JSON_NULL:
		return msgpack_pack_nil(pk);
	case JSON_TRUE:
		return msgpack_pack_true(pk);
	case JSON_FALSE:
		return msgpack_pack_false(pk);
	case JSON_INTEGER:
		return msgpack_pack_int64(pk, json_integer_value(j));
	case JSON_REAL:
		return msgpack_pack_double(pk, json_real_value(j));
	case JSON_STRING:
		return msgpack_pack_str_with_body(pk, json_string_value(j),
		    json_string_length(j));
	case JSON_ARRAY:
		if (msgpack_pack_array(pk, json_array_size(j)) < 0)
			return -1;
		json_array_foreach(j, i, v)
			if (jmp_pack(pk, v, depth + 1, err, len) < 0)
				return -1;
		return 0;
	case JSON_OBJECT:
		if (msgpack_pack_map(pk, json_object_size(j)) < 0)
			return -1;
		json_object_foreach(j, key, v) {
			if (msgpack_pack_str_with_body(pk, key, strlen(key)) < 0 ||
			    jmp_pack(pk, v, depth + 1, err, len) < 0)
				return -1;
		}
		return 0;
	}
	return jmp_fail(err, len, "unknown JSON type");
}

int
jmp_from_json(const char *text, size_t n, msgpack_sbuffer *sb, char *err,
    size_t len)
{
	json_error_t je;
	json_t *j;
	int r;

	j = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (j == NULL) {
		snprintf(err, len, "%s at line %d column %d", je.text,
		    je.line, je.column);
		return -1;
	}
	r = jmp_from_tree(j, sb, err, len);
	json_decref(j);
	return r;
}

/* A jansson tree already parsed (the HTTP API's body) into msgpack. */
int
jmp_from_tree(json_t *j, msgpack_sbuffer *sb, char *err, size_t len)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	snprintf(err, len, "out of memory");	/* msgpack-c's only failure */
	return jmp_pack(&pk, j, 0, err, len) < 0 ? -1 : 0;
}

/* The fewest significant digits that print d so that it reads back. */
int
jmp_digits(double d)
{
	char buf[40];

	for (int p = 1; p < 17; p++) {
		snprintf(buf, sizeof buf, "%.*g", p, d);
		if (strtod(buf, NULL) == d)
			return p;
	}
	return 17;
}


static json_t *
jmp_tree_fail(json_t *j, char *err, size_t len, const char *what)
{
	json_decref(j);
	if (what != NULL)
		jmp_fail(err, len, what);
	return NULL;
}

static json_t *jmp_tree_value(struct mpr *, int, char *, size_t);

/* A map entry: its key as JSON text wants it, and where its value is. */
struct jmp_entry {
	char		*key;
	size_t		 klen;
	const char	*val;
	size_t		 vlen;
};

static int
jmp_entry_cmp(const void *a, const void *b)
{
	const struct jmp_entry *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c != 0 ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static int
jmp_entry_key(struct mpr *r, struct jmp_entry *e, char *err, size_t len)
{
	struct mpr_item it;
	char kbuf[32];

	if (mpr_next(r, &it) < 0)
		return jmp_fail(err, len, r->err);
	if (it.type == MPR_STR) {
		if (!utf8_valid(it.v.s.p, it.v.s.n) ||
		    memchr(it.v.s.p, 0, it.v.s.n) != NULL)
			return jmp_fail(err, len, "a key is not valid UTF-8 or "
			    "holds a NUL byte");
		e->key = strndup(it.v.s.p, it.v.s.n);
		e->klen = it.v.s.n;
	} else if (it.type == MPR_INT || it.type == MPR_UINT) {
		if (it.type == MPR_INT)
			snprintf(kbuf, sizeof kbuf, "%lld", (long long)it.v.i);
		else
			snprintf(kbuf, sizeof kbuf, "%llu",
			    (unsigned long long)it.v.u);
		e->key = strdup(kbuf);
		e->klen = strlen(kbuf);
	} else
		return jmp_fail(err, len, "keys must be strings or integers");
	if (e->key == NULL)
		return jmp_fail(err, len, "out of memory");
	return 0;
}

static void
jmp_entries_free(struct jmp_entry *e, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(e[i].key);
	free(e);
}

/* Sorted keys that print the same (the integer 1 and the string "1" of one
 * Lua table) would keep only one value, and which one would depend on the
 * sort: refuse them. */
static int
jmp_entries_unique(const struct jmp_entry *e, uint32_t n, char *err,
    size_t len)
{
	for (uint32_t i = 1; i < n; i++) {
		if (jmp_entry_cmp(&e[i - 1], &e[i]) != 0)
			continue;
		if (e[i].klen <= 32)
			snprintf(err, len, "the key \"%s\" appears twice "
			    "(integer keys become strings in JSON)", e[i].key);
		else
			snprintf(err, len, "a key appears twice (integer keys "
			    "become strings in JSON)");
		return -1;
	}
	return 0;
}

/* An object with its keys in byte order, so the same value always prints
 * the same text (a signature over json.encode's output holds). */
static json_t *
jmp_tree_map(struct mpr *r, uint32_t n, int depth, char *err, size_t len)
{
	struct jmp_entry *e = calloc(n ? n : 1, sizeof *e);
	json_t *o = json_object(), *v;
	uint32_t i;

	if (e == NULL || o == NULL) {
		free(e);
		return jmp_tree_fail(o, err, len, "out of memory");
	}
	for (i = 0; i < n; i++) {
		if (jmp_entry_key(r, &e[i], err, len) < 0 ||
		    mpr_raw(r, MPR_MAX_DEPTH, &e[i].val, &e[i].vlen) < 0) {
			if (e[i].key != NULL && r->err != NULL)
				jmp_fail(err, len, r->err);
			jmp_entries_free(e, n);
			return jmp_tree_fail(o, NULL, 0, NULL);
		}
	}
	qsort(e, n, sizeof *e, jmp_entry_cmp);
	if (jmp_entries_unique(e, n, err, len) < 0) {
		jmp_entries_free(e, n);
		return jmp_tree_fail(o, NULL, 0, NULL);
	}
	for (i = 0; i < n; i++) {
		struct mpr vr;

		mpr_init(&vr, e[i].val, e[i].vlen);
		v = jmp_tree_value(&vr, depth + 1, err, len);
		if (v == NULL || json_object_set_new(o, e[i].key, v) < 0)
			break;
	}
	jmp_entries_free(e, n);
	return i == n ? o : jmp_tree_fail(o, NULL, 0, NULL);
}

static json_t *
jmp_tree_array(struct mpr *r, uint32_t n, int depth, char *err, size_t len)
{
	json_t *j = json_array();

	if (j == NULL)
		return jmp_tree_fail(NULL, err, len, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		json_t *e = jmp_tree_value(r, depth + 1, err, len);

		if (e == NULL || json_array_append_new(j, e) < 0)
			return jmp_tree_fail(j, NULL, 0, NULL);
	}
	return j;
}

static json_t *
jmp_tree_value(struct mpr *r, int depth, char *err, size_t len)
{
	struct mpr_item it;

	if (mpr_next(r, &it) < 0)
		return jmp_tree_fail(NULL, err, len, r->err);
	switch (it.type) {
	case MPR_NIL:
		return json_null();
	case MPR_BOOL:
		return json_boolean(it.v.b);
	case MPR_INT:
		return json_integer((json_int_t)it.v.i);
	case MPR_UINT:
		return jmp_tree_fail(NULL, err, len, "integer out of range");
	case MPR_FLOAT:
		if (isnan(it.v.f) || isinf(it.v.f))
			return jmp_tree_fail(NULL, err, len,
			    "NaN and infinity have no JSON form");
		return json_real(it.v.f);
	case MPR_STR:
		if (!utf8_valid(it.v.s.p, it.v.s.n))
			return jmp_tree_fail(NULL, err, len,
			    "a string is not valid UTF-8");
		return json_stringn(it.v.s.p, it.v.s.n);
	case MPR_ARRAY:
	case MPR_MAP:
		if (depth >= LIM_MAX_DEPTH)
			return jmp_tree_fail(NULL, err, len,
			    "nesting is deeper than 64 levels");
		return it.type == MPR_ARRAY ?
		    jmp_tree_array(r, it.v.n, depth, err, len) :
		    jmp_tree_map(r, it.v.n, depth, err, len);
	default:
		return jmp_tree_fail(NULL, err, len,
		    "binary and extension values have no JSON form");
	}
}

json_t *
jmp_tree(const char *buf, size_t n, char *err, size_t len)
{
	struct mpr r;
	json_t *j;

	if (err != NULL && len > 0)
		snprintf(err, len, "out of memory");
	mpr_init(&r, buf, n);
	if ((j = jmp_tree_value(&r, 0, err, len)) != NULL &&
	    mpr_end(&r) < 0) {
		json_decref(j);
		return jmp_tree_fail(NULL, err, len, r.err);
	}
	return j;
}

/*
 * Text written piece by piece in memory from jansson's allocator, so that in
 * a sandbox it counts against the limit as json_dumps's own would.
 */
struct jmp_text {
	char	*s;
	size_t	 n, cap;
	int	 failed;
};

static void
jmp_put(struct jmp_text *t, const char *s, size_t n)
{
	json_malloc_t jmalloc;
	json_free_t jfree;
	char *p;

	if (t->failed)
		return;
	if (t->n + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;

		while (cap < t->n + n + 1)
			cap *= 2;
		json_get_alloc_funcs(&jmalloc, &jfree);
		if ((p = jmalloc(cap)) == NULL) {
			t->failed = 1;
			return;
		}
		if (t->n > 0)
			memcpy(p, t->s, t->n);
		jfree(t->s);
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->n, s, n);
	t->n += n;
	t->s[t->n] = '\0';
}

/* A scalar as jansson writes it; a real with the fewest digits that read
 * back as it (JSON_REAL_PRECISION is one for a whole json_dumps: a 17-digit
 * real would print 0.1 as 0.10000000000000001 everywhere else). */
static void
jmp_put_scalar(struct jmp_text *t, json_t *j)
{
	int digits = json_is_real(j) ? jmp_digits(json_real_value(j)) : 1;
	json_free_t jfree;
	char *s;

	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(digits));
	if (s == NULL) {
		t->failed = 1;
		return;
	}
	jmp_put(t, s, strlen(s));
	json_get_alloc_funcs(NULL, &jfree);
	jfree(s);
}

/* Containers by hand, in jansson's order (insertion: sorted by
 * jmp_tree_map); every scalar and key by jansson. */
static void
jmp_put_value(struct jmp_text *t, json_t *j)
{
	const char *key;
	json_t *v, *k;
	size_t i = 0;

	if (json_is_array(j)) {
		jmp_put(t, "[", 1);
		json_array_foreach(j, i, v) {
			if (i > 0)
				jmp_put(t, ",", 1);
			jmp_put_value(t, v);
		}
		jmp_put(t, "]", 1);
	} else if (json_is_object(j)) {
		jmp_put(t, "{", 1);
		json_object_foreach(j, key, v) {
			if (i++ > 0)
				jmp_put(t, ",", 1);
			if ((k = json_string(key)) == NULL)
				t->failed = 1;
			else
				jmp_put_scalar(t, k);
			json_decref(k);
			jmp_put(t, ":", 1);
			jmp_put_value(t, v);
		}
		jmp_put(t, "}", 1);
	} else
		jmp_put_scalar(t, j);
}

/* Compact JSON text, into memory the caller frees with free(). */
char *
jmp_dump(json_t *j)
{
	struct jmp_text t = { NULL, 0, 0, 0 };
	json_free_t jfree;
	char *out;

	jmp_put_value(&t, j);
	out = t.failed ? NULL : strdup(t.s);
	json_get_alloc_funcs(NULL, &jfree);
	jfree(t.s);
	return out;
}

char *
jmp_to_json(const char *buf, size_t n, char *err, size_t len)
{
	json_t *j;
	char *s;

	if ((j = jmp_tree(buf, n, err, len)) == NULL)
		return NULL;
	s = jmp_dump(j);
	json_decref(j);
	return s;
}
