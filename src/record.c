/*
 * record.c: recordings of invocations (record.h): building one as the
 * invocation runs, redacting secrets, and the JSON file, written atomically
 * and read strictly. Values travel as msgpack and are kept as tagged
 * jansson trees (record.h says how). Uses mpr.c, jsonmp.c (the digits of a
 * real), utf8.c, jansson, msgpack-c and libcrypto's base64.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "jsonmp.h"
#include "mpr.h"
#include "proto.h"
#include "record.h"
#include "utf8.h"

#define REC_PLACEHOLDER	"[redacted:"
#define REC_INLINE	72	/* a value this short stays on one line */

/* --- base64 and tagged byte strings ------------------------------------ */

static char *
rec_b64(const char *p, size_t n)
{
	char *out;

	if (n > (size_t)INT32_MAX / 4 * 3 ||
	    (out = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)p, (int)n);
	return out;
}

/* Strict: the standard alphabet, padded, nothing else. */
static int
rec_unb64(const char *s, size_t n, char **out, size_t *outn)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t pad = 0;
	int len;

	if (n % 4 != 0 || n > INT32_MAX)
		return -1;
	if (n > 0 && s[n - 1] == '=')
		pad = n > 1 && s[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++)
		if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
			return -1;
	if ((*out = malloc(n / 4 * 3 + 1)) == NULL)
		return -1;
	len = EVP_DecodeBlock((unsigned char *)*out, (const unsigned char *)s,
	    (int)n);
	if (len < 0) {
		free(*out);
		return -1;
	}
	*outn = (size_t)len - pad;
	return 0;
}

/* Bytes as a JSON string, or {"$base64": ...} when not UTF-8. */
static json_t *
rec_jbytes(const char *p, size_t n)
{
	char *b;
	json_t *j;

	if (utf8_valid(p, n))
		return json_stringn(p, n);
	if ((b = rec_b64(p, n)) == NULL)
		return NULL;
	j = json_pack("{ss}", "$base64", b);
	free(b);
	return j;
}

json_t *
rec_text(const char *s)
{
	return rec_jbytes(s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* The tag of an object that is one: one key, starting with '$'. */
static const char *
rec_tag(const json_t *j)
{
	const char *key;
	void *it;

	if (!json_is_object(j) || json_object_size(j) != 1)
		return NULL;
	it = json_object_iter((json_t *)j);
	key = json_object_iter_key(it);
	return key[0] == '$' ? key : NULL;
}

/* The bytes of a tagged string (malloc'ed, NUL-terminated). */
static int
rec_bytes(const json_t *j, char **p, size_t *n)
{
	const char *tag = rec_tag(j);
	const json_t *b;

	if (json_is_string(j)) {
		*n = json_string_length(j);
		if ((*p = malloc(*n + 1)) == NULL)
			return -1;
		memcpy(*p, json_string_value(j), *n);
		(*p)[*n] = '\0';
		return 0;
	}
	if (tag == NULL || strcmp(tag, "$base64") != 0 ||
	    !json_is_string(b = json_object_get(j, "$base64")))
		return -1;
	if (rec_unb64(json_string_value(b), json_string_length(b), p, n) < 0)
		return -1;
	(*p)[*n] = '\0';
	return 0;
}

/* --- msgpack to tagged trees -------------------------------------------- */

static json_t *rec_item(struct mpr *, int);

static json_t *
rec_tagged(const char *tag, json_t *v)
{
	json_t *j = json_object();

	if (j == NULL || v == NULL || json_object_set_new(j, tag, v) < 0) {
		json_decref(j);
		json_decref(v);
		return NULL;
	}
	return j;
}

static json_t *
rec_real(double d)
{
	if (isnan(d))
		return rec_tagged("$float", json_string("nan"));
	if (isinf(d))
		return rec_tagged("$float", json_string(d > 0 ? "inf" : "-inf"));
	return json_real(d);
}

static json_t *
rec_uint(uint64_t u)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%" PRIu64, u);
	return rec_tagged("$uint", json_string(buf));
}

static json_t *
rec_ext(const struct mpr_item *it)
{
	char *b = rec_b64(it->v.s.p, it->v.s.n);
	json_t *a = b != NULL ? json_pack("[is]", (int)it->ext, b) : NULL;

	free(b);
	return rec_tagged("$ext", a);
}

static json_t *
rec_array(struct mpr *r, uint32_t n, int depth)
{
	json_t *a = json_array();

	for (uint32_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, rec_item(r, depth + 1)) < 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* $map entries in the order of their keys' text: two maps with the same
 * entries are the same tree, whatever order a Lua table walk gave. */
static int
rec_entry_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static json_t *
rec_sorted_map(json_t *pairs)
{
	size_t n = json_array_size(pairs), i;
	char **keys = calloc(n + 1, sizeof *keys);
	json_t *out = json_array();

	for (i = 0; keys != NULL && out != NULL && i < n; i++) {
		json_t *pair = json_array_get(pairs, i);
		char *k = jmp_dump(json_array_get(pair, 0));
		char *e = k != NULL ? malloc(strlen(k) + 22) : NULL;

		if (e == NULL) {
			free(k);
			break;
		}
		sprintf(e, "%s\x01%zu", k, i);	/* text, then position */
		free(k);
		keys[i] = e;
	}
	if (i == n && out != NULL) {
		qsort(keys, n, sizeof *keys, rec_entry_cmp);
		for (i = 0; i < n; i++) {
			size_t at = strtoul(strrchr(keys[i], '\x01') + 1, NULL, 10);

			json_array_append(out, json_array_get(pairs, at));
		}
	} else {
		json_decref(out);
		out = NULL;
	}
	for (i = 0; keys != NULL && i < n; i++)
		free(keys[i]);
	free(keys);
	json_decref(pairs);
	return rec_tagged("$map", out);
}

/* One [key, value] pair read into pairs; it also goes into obj while the
 * map can still be a plain object. */
static int
rec_pair(struct mpr *r, int depth, json_t *pairs, json_t *obj, int *plain)
{
	json_t *k = rec_item(r, depth + 1);
	json_t *v = k != NULL ? rec_item(r, depth + 1) : NULL;
	json_t *pair = v != NULL ? json_array() : NULL;
	int ok = pair != NULL && json_array_append(pair, k) == 0 &&
	    json_array_append(pair, v) == 0;

	if (ok)
		ok = json_array_append_new(pairs, pair) == 0;
	else
		json_decref(pair);
	if (ok && *plain)
		*plain = json_is_string(k) &&
		    strlen(json_string_value(k)) == json_string_length(k) &&
		    json_object_get(obj, json_string_value(k)) == NULL &&
		    json_object_set(obj, json_string_value(k), v) == 0;
	json_decref(k);
	json_decref(v);
	return ok ? 0 : -1;
}

/* A map: a plain object when every key is a UTF-8 string, none repeats and
 * it cannot be mistaken for a tag; else $map pairs. */
static json_t *
rec_map(struct mpr *r, uint32_t n, int depth)
{
	json_t *pairs = json_array(), *obj = json_object();
	int plain = 1;

	for (uint32_t i = 0; pairs != NULL && obj != NULL && i < n; i++)
		if (rec_pair(r, depth, pairs, obj, &plain) < 0)
			break;
	if (pairs == NULL || obj == NULL || json_array_size(pairs) != n) {
		json_decref(pairs), json_decref(obj);
		return NULL;
	}
	if (plain && rec_tag(obj) == NULL) {
		json_decref(pairs);
		return obj;
	}
	json_decref(obj);
	return rec_sorted_map(pairs);
}

static json_t *
rec_item(struct mpr *r, int depth)
{
	struct mpr_item it;

	if (depth > MPR_MAX_DEPTH) {
		r->err = "nested too deep";
		return NULL;
	}
	if (mpr_next(r, &it) < 0)
		return NULL;
	switch (it.type) {
	case MPR_NIL:	return json_null();
	case MPR_BOOL:	return json_boolean(it.v.b);
	case MPR_INT:	return json_integer((json_int_t)it.v.i);
	case MPR_UINT:	return rec_uint(it.v.u);
	case MPR_FLOAT:	return rec_real(it.v.f);
	case MPR_STR:
	case MPR_BIN:	return rec_jbytes(it.v.s.p, it.v.s.n);
	case MPR_ARRAY:	return rec_array(r, it.v.n, depth);
	case MPR_MAP:	return rec_map(r, it.v.n, depth);
	case MPR_EXT:	return rec_ext(&it);
	}
	return NULL;
}

json_t *
rec_value(const char *p, size_t n, char *err, size_t errlen)
{
	struct mpr r;
	json_t *j;

	if (p == NULL || n == 0)
		return json_null();
	mpr_init(&r, p, n);
	if ((j = rec_item(&r, 0)) == NULL || mpr_end(&r) < 0) {
		snprintf(err, errlen, "not one valid msgpack value: %s",
		    r.err != NULL ? r.err : "out of memory");
		json_decref(j);
		return NULL;
	}
	return j;
}

/* msgpack values back to back, as one array. */
json_t *
rec_args(const char *p, size_t n)
{
	json_t *a = json_array();
	struct mpr r;

	mpr_init(&r, p, n);
	while (a != NULL && r.p < r.end)
		if (json_array_append_new(a, rec_item(&r, 0)) < 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* --- tagged trees to msgpack, checked ---------------------------------- */

struct rec_err {
	char	*buf;
	size_t	 len;
	char	 path[256];
};

static int
rec_fail(struct rec_err *e, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(e->buf, e->len, "%s: %s", e->path, msg);
	return -1;
}

static size_t
rec_path_push(struct rec_err *e, const char *fmt, ...)
{
	size_t old = strlen(e->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->path + old, sizeof e->path - old, fmt, ap);
	va_end(ap);
	return old;
}

static int rec_pack(const json_t *, msgpack_packer *, struct rec_err *, int);

static int
rec_pack_tagged_str(const json_t *j, msgpack_packer *pk, struct rec_err *e)
{
	char *p;
	size_t n;

	if (rec_bytes(j, &p, &n) < 0)
		return rec_fail(e, "$base64 is not a padded base64 string");
	msgpack_pack_str_with_body(pk, p, n);
	free(p);
	return 0;
}

static int
rec_pack_float(const json_t *v, msgpack_packer *pk, struct rec_err *e)
{
	const char *s = json_string_value(v);

	if (s != NULL && strcmp(s, "nan") == 0)
		return msgpack_pack_double(pk, NAN), 0;
	if (s != NULL && strcmp(s, "inf") == 0)
		return msgpack_pack_double(pk, INFINITY), 0;
	if (s != NULL && strcmp(s, "-inf") == 0)
		return msgpack_pack_double(pk, -INFINITY), 0;
	return rec_fail(e, "$float is \"nan\", \"inf\" or \"-inf\"");
}

static int
rec_pack_uint(const json_t *v, msgpack_packer *pk, struct rec_err *e)
{
	const char *s = json_string_value(v);
	char *end;
	unsigned long long u;

	errno = 0;
	if (s == NULL || *s < '0' || *s > '9' ||
	    (u = strtoull(s, &end, 10), *end != '\0') || errno != 0)
		return rec_fail(e, "$uint is a string of decimal digits up to "
		    "18446744073709551615");
	msgpack_pack_uint64(pk, u);
	return 0;
}

static int
rec_pack_ext(const json_t *v, msgpack_packer *pk, struct rec_err *e)
{
	const json_t *t = json_array_get(v, 0), *d = json_array_get(v, 1);
	char *p;
	size_t n;

	if (json_array_size(v) != 2 || !json_is_integer(t) ||
	    json_integer_value(t) < -128 || json_integer_value(t) > 127 ||
	    !json_is_string(d) || rec_unb64(json_string_value(d),
	    json_string_length(d), &p, &n) < 0)
		return rec_fail(e, "$ext is [type (-128..127), \"base64\"]");
	msgpack_pack_ext(pk, n, (int8_t)json_integer_value(t));
	msgpack_pack_ext_body(pk, p, n);
	free(p);
	return 0;
}

static int
rec_pack_map(const json_t *v, msgpack_packer *pk, struct rec_err *e,
    int depth)
{
	size_t i, old;
	json_t *pair;

	if (!json_is_array(v))
		return rec_fail(e, "$map is an array of [key, value] pairs");
	msgpack_pack_map(pk, json_array_size(v));
	json_array_foreach(v, i, pair) {
		old = rec_path_push(e, "[%zu]", i);
		if (json_array_size(pair) != 2)
			return rec_fail(e, "a $map entry is [key, value]");
		if (rec_pack(json_array_get(pair, 0), pk, e, depth + 1) < 0 ||
		    rec_pack(json_array_get(pair, 1), pk, e, depth + 1) < 0)
			return -1;
		e->path[old] = '\0';
	}
	return 0;
}

static const struct rec_tagdef {
	const char	*tag;
	int		(*pack)(const json_t *, msgpack_packer *,
			    struct rec_err *);
} rec_tags[] = {
	{ "$float",	rec_pack_float },
	{ "$uint",	rec_pack_uint },
	{ "$ext",	rec_pack_ext },
};

static int
rec_pack_tag(const json_t *j, const char *tag, msgpack_packer *pk,
    struct rec_err *e, int depth)
{
	const json_t *v = json_object_get(j, tag);

	if (strcmp(tag, "$base64") == 0)
		return rec_pack_tagged_str(j, pk, e);
	if (strcmp(tag, "$map") == 0)
		return rec_pack_map(v, pk, e, depth);
	for (size_t i = 0; i < sizeof rec_tags / sizeof rec_tags[0]; i++)
		if (strcmp(tag, rec_tags[i].tag) == 0)
			return rec_tags[i].pack(v, pk, e);
	return rec_fail(e, "unknown tag %s (an object of one key starting "
	    "with '$' is a tag: $base64, $float, $uint, $map, $ext)", tag);
}

static int
rec_pack_object(const json_t *j, msgpack_packer *pk, struct rec_err *e,
    int depth)
{
	const char *key;
	json_t *v;
	size_t old;

	msgpack_pack_map(pk, json_object_size(j));
	json_object_foreach((json_t *)j, key, v) {
		msgpack_pack_str_with_body(pk, key, strlen(key));
		old = rec_path_push(e, ".%s", key);
		if (rec_pack(v, pk, e, depth + 1) < 0)
			return -1;
		e->path[old] = '\0';
	}
	return 0;
}

static int
rec_pack(const json_t *j, msgpack_packer *pk, struct rec_err *e, int depth)
{
	const char *tag;
	size_t i, old;
	json_t *v;

	if (depth > MPR_MAX_DEPTH)
		return rec_fail(e, "nested deeper than %d levels", MPR_MAX_DEPTH);
	switch (json_typeof(j)) {
	case JSON_NULL:		return msgpack_pack_nil(pk), 0;
	case JSON_TRUE:		return msgpack_pack_true(pk), 0;
	case JSON_FALSE:	return msgpack_pack_false(pk), 0;
	case JSON_INTEGER:
		return msgpack_pack_int64(pk, json_integer_value(j)), 0;
	case JSON_REAL:		return msgpack_pack_double(pk, json_real_value(j)), 0;
	case JSON_STRING:	return rec_pack_tagged_str(j, pk, e);
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(j));
		json_array_foreach(j, i, v) {
			old = rec_path_push(e, "[%zu]", i);
			if (rec_pack(v, pk, e, depth + 1) < 0)
				return -1;
			e->path[old] = '\0';
		}
		return 0;
	case JSON_OBJECT:
		if ((tag = rec_tag(j)) != NULL)
			return rec_pack_tag(j, tag, pk, e, depth);
		return rec_pack_object(j, pk, e, depth);
	}
	return rec_fail(e, "not a value");
}

int
rec_value_pack(const json_t *j, msgpack_packer *pk)
{
	char buf[8];
	struct rec_err e = { buf, sizeof buf, "" };

	return rec_pack(j, pk, &e, 0);
}

/* Check a tree read from a file; on success replace it by its canonical
 * form (a UTF-8 $base64 becomes a string, $map entries sorted). */
static int
rec_canon(json_t **j, const char *path, char *err, size_t errlen)
{
	struct rec_err e = { err, errlen, "" };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	json_t *c;
	int r;

	snprintf(e.path, sizeof e.path, "%.250s", path);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	r = rec_pack(*j, &pk, &e, 0);
	if (r == 0) {
		if ((c = rec_value(sb.data, sb.size, err, errlen)) == NULL)
			r = -1;
		else {
			json_decref(*j);
			*j = c;
		}
	}
	msgpack_sbuffer_destroy(&sb);
	return r;
}

int
rec_value_equal(const json_t *a, const json_t *b)
{
	return json_equal((json_t *)a, (json_t *)b);
}


/* --- secrets ------------------------------------------------------------- */

static int
rec_secret_cmp(const void *a, const void *b)
{
	const struct rec_secret *x = a, *y = b;

	return x->len < y->len ? 1 : x->len > y->len ? -1 :
	    strcmp(x->name, y->name);
}

int
rec_secrets_add(struct rec_secrets *s, const char *name, const char *value,
    size_t len)
{
	struct rec_secret *v;

	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0 && s->v[i].len == len &&
		    memcmp(s->v[i].value, value, len) == 0)
			return 0;
	if (s->n >= REC_MAX_SECRETS || len == 0)
		return len == 0 ? 0 : -1;
	v = &s->v[s->n];
	v->name = strdup(name);
	v->value = malloc(len + 1);
	if (v->name == NULL || v->value == NULL) {
		free(v->name), free(v->value);
		return -1;
	}
	memcpy(v->value, value, len);
	v->value[len] = '\0';
	v->len = len;
	s->n++;
	qsort(s->v, (size_t)s->n, sizeof s->v[0], rec_secret_cmp);
	return 0;
}

void
rec_secrets_free(struct rec_secrets *s)
{
	for (int i = 0; i < s->n; i++) {
		explicit_bzero(s->v[i].value, s->v[i].len);
		free(s->v[i].value);
		free(s->v[i].name);
	}
	memset(s, 0, sizeof *s);
}

/* The length of a placeholder "[redacted:NAME]" at p, or 0. */
static size_t
rec_placeholder_at(const char *p, size_t n)
{
	size_t k = sizeof REC_PLACEHOLDER - 1;

	if (n < k + 1 || memcmp(p, REC_PLACEHOLDER, k) != 0)
		return 0;
	for (size_t i = k; i < n && i < k + 256; i++) {
		if (p[i] == ']')
			return i + 1;
		if (p[i] == '[')
			return 0;
	}
	return 0;
}

/* The secret whose value (REC_REDACT) or placeholder (REC_REVEAL) starts
 * at p; *used is how many bytes it covers. */
static const struct rec_secret *
rec_secret_at(const struct rec_secrets *s, enum rec_subst mode,
    const char *p, size_t n, size_t *used)
{
	size_t ph = mode == REC_REVEAL ? rec_placeholder_at(p, n) : 0;
	size_t k = sizeof REC_PLACEHOLDER - 1;

	for (int i = 0; i < s->n; i++) {
		const struct rec_secret *v = &s->v[i];

		if (mode == REC_REDACT && v->len <= n &&
		    memcmp(p, v->value, v->len) == 0) {
			*used = v->len;
			return v;
		}
		if (mode == REC_REVEAL && ph == k + strlen(v->name) + 1 &&
		    memcmp(p + k, v->name, ph - k - 1) == 0) {
			*used = ph;
			return v;
		}
	}
	return NULL;
}

struct rec_buf {
	char	*p;
	size_t	 n, cap;
	int	 failed;
};

static void
rec_put(struct rec_buf *b, const char *p, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *q;

		while (cap < b->n + n + 1)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
rec_put_secret(struct rec_buf *b, const struct rec_secret *v,
    enum rec_subst mode)
{
	if (mode == REC_REVEAL) {
		rec_put(b, v->value, v->len);
		return;
	}
	rec_put(b, REC_PLACEHOLDER, sizeof REC_PLACEHOLDER - 1);
	rec_put(b, v->name, strlen(v->name));
	rec_put(b, "]", 1);
}

/* One pass over the text: placeholders already there are kept as they
 * are, so redacting twice changes nothing. */
char *
rec_secrets_text(const struct rec_secrets *s, enum rec_subst mode,
    const char *p, size_t n, size_t *outn)
{
	struct rec_buf b = { NULL, 0, 0, 0 };
	size_t i = 0, used, ph;
	const struct rec_secret *v;

	rec_put(&b, "", 0);
	while (i < n) {
		if (mode == REC_REDACT &&
		    (ph = rec_placeholder_at(p + i, n - i)) > 0) {
			rec_put(&b, p + i, ph);
			i += ph;
		} else if ((v = rec_secret_at(s, mode, p + i, n - i, &used)) !=
		    NULL) {
			rec_put_secret(&b, v, mode);
			i += used;
		} else
			rec_put(&b, p + i++, 1);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*outn = b.n;
	return b.p;
}

/* Substitute in every string of a msgpack value (keys too; ext payloads
 * are left alone), packing the result. */
static int
rec_subst_mp(const struct rec_secrets *s, enum rec_subst mode, struct mpr *r,
    msgpack_packer *pk, int depth)
{
	struct mpr_item it;
	char *t;
	size_t n;

	if (depth > MPR_MAX_DEPTH || mpr_next(r, &it) < 0)
		return -1;
	switch (it.type) {
	case MPR_STR:
	case MPR_BIN:
		if ((t = rec_secrets_text(s, mode, it.v.s.p, it.v.s.n, &n)) == NULL)
			return -1;
		if (it.type == MPR_STR)
			msgpack_pack_str_with_body(pk, t, n);
		else
			msgpack_pack_bin_with_body(pk, t, n);
		free(t);
		return 0;
	case MPR_ARRAY:
	case MPR_MAP:
		if (it.type == MPR_ARRAY)
			msgpack_pack_array(pk, it.v.n);
		else
			msgpack_pack_map(pk, it.v.n);
		for (uint64_t i = 0; i < (uint64_t)it.v.n *
		    (it.type == MPR_MAP ? 2 : 1); i++)
			if (rec_subst_mp(s, mode, r, pk, depth + 1) < 0)
				return -1;
		return 0;
	case MPR_EXT:
		msgpack_pack_ext(pk, it.v.s.n, it.ext);
		msgpack_pack_ext_body(pk, it.v.s.p, it.v.s.n);
		return 0;
	case MPR_NIL:	return msgpack_pack_nil(pk), 0;
	case MPR_BOOL:	return (it.v.b ? msgpack_pack_true(pk) :
			    msgpack_pack_false(pk)), 0;
	case MPR_INT:	return msgpack_pack_int64(pk, it.v.i), 0;
	case MPR_UINT:	return msgpack_pack_uint64(pk, it.v.u), 0;
	case MPR_FLOAT:	return msgpack_pack_double(pk, it.v.f), 0;
	}
	return -1;
}

int
rec_secrets_apply(const struct rec_secrets *s, enum rec_subst mode,
    json_t **j)
{
	msgpack_sbuffer in, out;
	msgpack_packer pk;
	struct mpr r;
	char err[128];
	json_t *c = NULL;

	if (s->n == 0 || *j == NULL)
		return 0;
	msgpack_sbuffer_init(&in);
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
	if (rec_value_pack(*j, &pk) == 0) {
		msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
		mpr_init(&r, in.data, in.size);
		if (rec_subst_mp(s, mode, &r, &pk, 0) == 0)
			c = rec_value(out.data, out.size, err, sizeof err);
	}
	msgpack_sbuffer_destroy(&in);
	msgpack_sbuffer_destroy(&out);
	if (c == NULL)
		return -1;
	json_decref(*j);
	*j = c;
	return 0;
}

/* A C string of the recording, substituted in place. */
static int
rec_secrets_cstr(const struct rec_secrets *s, char **str)
{
	char *t;
	size_t n;

	if (s->n == 0 || *str == NULL)
		return 0;
	if ((t = rec_secrets_text(s, REC_REDACT, *str, strlen(*str), &n)) == NULL)
		return -1;
	free(*str);
	*str = t;
	return 0;
}

/* Everything but the source and the names. */
static int
rec_redact_all(struct recording *rec)
{
	const struct rec_secrets *s = &rec->secrets;
	struct rec_outcome *o = &rec->outcome;
	int r = rec_secrets_apply(s, REC_REDACT, &rec->input);

	for (size_t i = 0; i < rec->ncalls; i++) {
		struct rec_call *c = &rec->calls[i];

		r |= rec_secrets_apply(s, REC_REDACT, &c->args);
		r |= rec_secrets_apply(s, REC_REDACT, &c->reply_value);
		r |= rec_secrets_cstr(s, &c->reply_message);
	}
	if (o->set) {
		r |= rec_secrets_apply(s, REC_REDACT, &o->value);
		r |= rec_secrets_apply(s, REC_REDACT, &o->log);
		r |= rec_secrets_cstr(s, &o->message);
	}
	return r;
}

int
rec_redact(struct recording *rec, const char *name, const char *value)
{
	size_t i;
	json_t *v;

	if (value == NULL || value[0] == '\0')
		return 0;
	if (rec_secrets_add(&rec->secrets, name, value, strlen(value)) < 0)
		return -1;
	json_array_foreach(rec->redacted, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return rec_redact_all(rec);
	if (json_array_append_new(rec->redacted, json_string(name)) < 0)
		return -1;
	return rec_redact_all(rec);
}

/* --- building ------------------------------------------------------------ */

static void
rec_stamp(struct recording *rec)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) != NULL)
		strftime(rec->recorded, sizeof rec->recorded,
		    "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct recording *
rec_new(const char *rule, const char *source, size_t srclen,
    const char *input, size_t inlen, const struct lim_config *limits,
    const char *invocation, const char *pool)
{
	struct recording *rec = calloc(1, sizeof *rec);
	char err[128];

	if (rec == NULL)
		return NULL;
	rec->rule = strdup(rule != NULL ? rule : "");
	rec->pool = strdup(pool != NULL ? pool : "");
	rec->invocation = strdup(invocation != NULL ? invocation : "");
	rec->source = malloc(srclen + 1);
	rec->input = rec_value(input, inlen, err, sizeof err);
	rec->redacted = json_array();
	if (rec->rule == NULL || rec->pool == NULL || rec->invocation == NULL ||
	    rec->source == NULL || rec->input == NULL || rec->redacted == NULL) {
		rec_free(rec);
		return NULL;
	}
	memcpy(rec->source, source, srclen);
	rec->source[srclen] = '\0';
	rec->srclen = srclen;
	if (limits != NULL)
		rec->limits = *limits;
	else
		lim_defaults(&rec->limits);
	rec->outcome.value = json_null();
	rec->outcome.log = json_array();
	rec_stamp(rec);
	return rec;
}

static int
rec_grow(struct recording *rec)
{
	struct rec_call *c;
	size_t cap;

	if (rec->ncalls < rec->capcalls)
		return 0;
	cap = rec->capcalls ? rec->capcalls * 2 : 16;
	if ((c = realloc(rec->calls, cap * sizeof *c)) == NULL)
		return -1;
	rec->calls = c;
	rec->capcalls = cap;
	return 0;
}

static void
rec_call_free(struct rec_call *c)
{
	free(c->cap);
	free(c->method);
	free(c->reply_message);
	json_decref(c->args);
	json_decref(c->reply_value);
}

int
rec_add_call(struct recording *rec, const char *cap, const char *method,
    const char *args, size_t argslen, enum mb_kind kind, const char *message,
    const char *value, size_t valuelen)
{
	struct rec_call c = { 0 };
	char err[128];

	if (rec_grow(rec) < 0)
		return -1;
	c.cap = strdup(cap);
	c.method = strdup(method);
	c.reply_message = strdup(message != NULL ? message : "");
	c.reply_kind = kind;
	c.args = rec_args(args, argslen);
	c.reply_value = kind == MB_OK ? rec_value(value, valuelen, err,
	    sizeof err) : json_null();
	if (c.cap == NULL || c.method == NULL || c.reply_message == NULL ||
	    c.args == NULL || c.reply_value == NULL ||
	    rec_secrets_apply(&rec->secrets, REC_REDACT, &c.args) < 0 ||
	    rec_secrets_apply(&rec->secrets, REC_REDACT, &c.reply_value) < 0 ||
	    rec_secrets_cstr(&rec->secrets, &c.reply_message) < 0) {
		rec_call_free(&c);
		return -1;
	}
	rec->calls[rec->ncalls++] = c;
	return 0;
}

static json_t *
rec_log_lines(const struct lim_log *log)
{
	struct lim m = { .log = *log };
	json_t *a = json_array();
	const char *s;
	size_t at = 0, n;

	while (a != NULL && lim_log_next(&m, &at, &s, &n))
		if (json_array_append_new(a, rec_jbytes(s, n)) < 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

int
rec_set_outcome(struct recording *rec, const struct inv_outcome *o)
{
	struct rec_outcome n = { .set = 1, .kind = o->kind };
	char err[128];

	n.message = strdup(o->message);
	n.value = o->kind == MB_OK ? rec_value(o->result.data, o->result.size,
	    err, sizeof err) : json_null();
	n.log = rec_log_lines(&o->log);
	if (n.message == NULL || n.value == NULL || n.log == NULL ||
	    rec_secrets_apply(&rec->secrets, REC_REDACT, &n.value) < 0 ||
	    rec_secrets_apply(&rec->secrets, REC_REDACT, &n.log) < 0 ||
	    rec_secrets_cstr(&rec->secrets, &n.message) < 0) {
		free(n.message);
		json_decref(n.value);
		json_decref(n.log);
		return -1;
	}
	n.log_dropped = o->log.dropped;
	n.counted = o->counted;
	n.instructions = o->instructions;
	n.memory = o->memory;
	n.calls = o->calls;
	n.cpu_ms = o->cpu_ms;
	n.wall_ms = o->wall_ms;
	free(rec->outcome.message);
	json_decref(rec->outcome.value);
	json_decref(rec->outcome.log);
	rec->outcome = n;
	return 0;
}

void
rec_set_seed(struct recording *rec, const int64_t seed[2])
{
	rec->has_seed = 1;
	rec->seed[0] = seed[0];
	rec->seed[1] = seed[1];
}

void
rec_free(struct recording *rec)
{
	if (rec == NULL)
		return;
	for (size_t i = 0; i < rec->ncalls; i++)
		rec_call_free(&rec->calls[i]);
	free(rec->calls);
	free(rec->rule);
	free(rec->pool);
	free(rec->invocation);
	free(rec->source);
	json_decref(rec->input);
	free(rec->outcome.message);
	json_decref(rec->outcome.value);
	json_decref(rec->outcome.log);
	json_decref(rec->redacted);
	rec_secrets_free(&rec->secrets);
	free(rec);
}


/* --- the file: a document tree ------------------------------------------ */

/* The source as its lines: diffs of two recordings read line by line. */
static json_t *
rec_source_lines(const char *s, size_t n)
{
	json_t *a = json_array();
	size_t start = 0;

	for (size_t i = 0; a != NULL && i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		if (json_array_append_new(a, rec_jbytes(s + start,
		    i - start)) < 0) {
			json_decref(a);
			a = NULL;
		}
		start = i + 1;
	}
	return a;
}

static json_t *
rec_limits_json(const struct lim_config *l)
{
	return json_pack("{sIsIsIsIsIsI}",
	    "memory", (json_int_t)l->memory,
	    "instructions", (json_int_t)l->instructions,
	    "timeout_us", (json_int_t)l->timeout_us,
	    "output", (json_int_t)l->output,
	    "log", (json_int_t)l->log,
	    "calls", (json_int_t)l->calls);
}

static json_t *
rec_reply_json(enum mb_kind kind, const char *message, json_t *value)
{
	return json_pack("{sssosO}", "kind", kind_name(kind),
	    "message", rec_text(message), "value", value);
}

static json_t *
rec_call_json(const struct rec_call *c)
{
	return json_pack("{sssssOso}", "capability", c->cap,
	    "method", c->method, "args", c->args,
	    "reply", rec_reply_json(c->reply_kind, c->reply_message,
	    c->reply_value));
}

static json_t *
rec_usage_json(const struct rec_outcome *o)
{
	return json_pack("{sosIsososI}",
	    "instructions", o->counted ?
	    json_integer((json_int_t)o->instructions) : json_null(),
	    "memory", (json_int_t)o->memory,
	    "cpu_ms", json_real(round(o->cpu_ms * 1000) / 1000),
	    "wall_ms", json_real(round(o->wall_ms * 1000) / 1000),
	    "calls", (json_int_t)o->calls);
}

static json_t *
rec_outcome_json(const struct rec_outcome *o)
{
	json_t *j = rec_reply_json(o->kind, o->message, o->value);

	if (j != NULL && (json_object_set(j, "log", o->log) < 0 ||
	    json_object_set_new(j, "log_dropped",
	    json_integer(o->log_dropped)) < 0 ||
	    json_object_set_new(j, "usage", rec_usage_json(o)) < 0)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
rec_calls_json(const struct recording *rec)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < rec->ncalls; i++)
		if (json_array_append_new(a, rec_call_json(&rec->calls[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* Members in the order a reader wants them: what ran, then what
 * happened, the source last. */
static json_t *
rec_json(const struct recording *rec)
{
	json_t *j = json_pack("{sssisssssoss}",
	    "moonbox", "recording", "version", REC_VERSION,
	    "rule", rec->rule, "pool", rec->pool,
	    "invocation", rec_text(rec->invocation),
	    "recorded", rec->recorded);
	int r;

	if (j == NULL)
		return NULL;
	r = rec->has_seed ? json_object_set_new(j, "seed", json_pack("[II]",
	    (json_int_t)rec->seed[0], (json_int_t)rec->seed[1])) : 0;
	r |= json_object_set_new(j, "limits", rec_limits_json(&rec->limits));
	r |= json_object_set_new(j, "redacted", json_copy(rec->redacted));
	r |= json_object_set(j, "input", rec->input);
	r |= json_object_set_new(j, "calls", rec_calls_json(rec));
	r |= json_object_set_new(j, "outcome", rec_outcome_json(&rec->outcome));
	r |= json_object_set_new(j, "source", rec_source_lines(rec->source,
	    rec->srclen));
	if (r != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* --- the file: text ------------------------------------------------------- */

static void
rec_indent(struct rec_buf *b, int n)
{
	static const char sp[] = "                                ";

	for (; n > 0; n -= 32)
		rec_put(b, sp, n < 32 ? (size_t)n : 32);
}

static void
rec_put_scalar(struct rec_buf *b, const json_t *j)
{
	char *t = jmp_dump((json_t *)j);

	if (t == NULL) {
		b->failed = 1;
		return;
	}
	rec_put(b, t, strlen(t));
	free(t);
}

static void
rec_put_key(struct rec_buf *b, const char *key)
{
	json_t *k = json_string(key);

	rec_put_scalar(b, k);
	json_decref(k);
	rec_put(b, ": ", 2);
}

/* One line: [1, 2] and {"a": 1}. */
static void
rec_put_line(struct rec_buf *b, const json_t *j)
{
	const char *key;
	size_t i, n = 0;
	json_t *v;

	if (json_is_array(j)) {
		rec_put(b, "[", 1);
		json_array_foreach(j, i, v) {
			rec_put(b, ", ", i > 0 ? 2 : 0);
			rec_put_line(b, v);
		}
		rec_put(b, "]", 1);
	} else if (json_is_object(j)) {
		rec_put(b, "{", 1);
		json_object_foreach((json_t *)j, key, v) {
			rec_put(b, ", ", n++ > 0 ? 2 : 0);
			rec_put_key(b, key);
			rec_put_line(b, v);
		}
		rec_put(b, "}", 1);
	} else
		rec_put_scalar(b, j);
}

/* Indented JSON: a container goes on one line when it is short (and not
 * the source), else one element or member a line. */
static void
rec_put_pretty(struct rec_buf *b, const json_t *j, int indent, int split)
{
	struct rec_buf line = { NULL, 0, 0, 0 };
	const char *key;
	size_t i = 0, n;
	json_t *v;

	n = json_is_array(j) ? json_array_size(j) :
	    json_is_object(j) ? json_object_size(j) : 0;
	rec_put_line(&line, j);
	if (line.failed || n == 0 ||
	    (!split && (size_t)indent + line.n <= REC_INLINE)) {
		rec_put(b, line.p, line.n);
		b->failed |= line.failed;
		free(line.p);
		return;
	}
	free(line.p);
	rec_put(b, json_is_array(j) ? "[\n" : "{\n", 2);
	if (json_is_array(j)) {
		json_array_foreach(j, n, v) {
			rec_put(b, ",\n", i++ > 0 ? 2 : 0);
			rec_indent(b, indent + 2);
			rec_put_pretty(b, v, indent + 2, 0);
		}
	} else {
		json_object_foreach((json_t *)j, key, v) {
			rec_put(b, ",\n", i++ > 0 ? 2 : 0);
			rec_indent(b, indent + 2);
			rec_put_key(b, key);
			rec_put_pretty(b, v, indent + 2, indent == 0 &&
			    strcmp(key, "source") == 0);
		}
	}
	rec_put(b, "\n", 1);
	rec_indent(b, indent);
	rec_put(b, json_is_array(j) ? "]" : "}", 1);
}

/* One line, as the file has short values: [1, "a"], {"k": true}. */
char *
rec_value_text(const json_t *j)
{
	struct rec_buf b = { NULL, 0, 0, 0 };

	rec_put(&b, "", 0);
	rec_put_line(&b, j);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *
rec_dump(const struct recording *rec)
{
	struct rec_buf b = { NULL, 0, 0, 0 };
	json_t *j = rec_json(rec);

	if (j == NULL)
		return NULL;
	rec_put_pretty(&b, j, 0, 1);
	rec_put(&b, "\n", 1);
	json_decref(j);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static int
rec_errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int
rec_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The rename, made durable: the directory flushed (best effort). */
static void
rec_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".") : slash == path ? strdup("/") :
	    strndup(path, (size_t)(slash - path));
	int fd = dir != NULL ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* The text into a new file beside path, flushed, then renamed over it:
 * a reader sees the old file or the whole new one. */
int
rec_write(const struct recording *rec, const char *path, char *err,
    size_t errlen)
{
	char *text = rec_dump(rec), *tmp = malloc(strlen(path) + 16);
	int fd, ok, e;

	if (text == NULL || tmp == NULL) {
		free(text), free(tmp);
		return rec_errf(err, errlen, "%s: out of memory", path);
	}
	sprintf(tmp, "%s.tmp-XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		e = errno;
		free(text), free(tmp);
		return rec_errf(err, errlen, "%s: cannot create a file beside "
		    "it: %s", path, strerror(e));
	}
	ok = fchmod(fd, 0600) == 0 &&
	    rec_write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0;
	e = errno;
	if (close(fd) < 0 && ok)
		ok = 0, e = errno;
	if (ok && rename(tmp, path) < 0)
		ok = 0, e = errno;
	if (!ok)
		unlink(tmp);
	else
		rec_sync_dir(path);
	free(text), free(tmp);
	if (!ok)
		return rec_errf(err, errlen, "%s: cannot write the recording: "
		    "%s", path, strerror(e));
	return 0;
}

/* --- the file: reading, strictly ----------------------------------------- */

enum rec_ftype {
	RF_NAME,	/* a plain string */
	RF_TEXT,	/* a tagged string */
	RF_INT, RF_UINT, RF_NUM, RF_UINT_NULL,
	RF_ARRAY, RF_OBJECT,
	RF_VALUE,	/* any tagged value */
	RF_KIND,	/* an error kind's name */
};

struct rec_field {
	const char	*key;
	enum rec_ftype	 type;
	int		 optional;
};

static const struct rec_field rec_top_fields[] = {
	{ "moonbox", RF_NAME, 0 }, { "version", RF_INT, 0 }, { "rule", RF_NAME, 0 },
	{ "pool", RF_NAME, 0 }, { "invocation", RF_TEXT, 0 },
	{ "recorded", RF_NAME, 0 }, { "seed", RF_ARRAY, 1 },
	{ "limits", RF_OBJECT, 0 }, { "redacted", RF_ARRAY, 0 },
	{ "input", RF_VALUE, 0 }, { "calls", RF_ARRAY, 0 },
	{ "outcome", RF_OBJECT, 0 }, { "source", RF_ARRAY, 0 }, { NULL, 0, 0 }
};
static const struct rec_field rec_limit_fields[] = {
	{ "memory", RF_UINT, 0 }, { "instructions", RF_UINT, 0 },
	{ "timeout_us", RF_UINT, 0 }, { "output", RF_UINT, 0 }, { "log", RF_UINT, 0 },
	{ "calls", RF_UINT, 0 }, { NULL, 0, 0 }
};
static const struct rec_field rec_call_fields[] = {
	{ "capability", RF_NAME, 0 }, { "method", RF_NAME, 0 },
	{ "args", RF_ARRAY, 0 }, { "reply", RF_OBJECT, 0 }, { NULL, 0, 0 }
};
static const struct rec_field rec_reply_fields[] = {
	{ "kind", RF_KIND, 0 }, { "message", RF_TEXT, 0 }, { "value", RF_VALUE, 0 },
	{ NULL, 0, 0 }
};
static const struct rec_field rec_outcome_fields[] = {
	{ "kind", RF_KIND, 0 }, { "message", RF_TEXT, 0 }, { "value", RF_VALUE, 0 },
	{ "log", RF_ARRAY, 0 }, { "log_dropped", RF_UINT, 0 },
	{ "usage", RF_OBJECT, 0 }, { NULL, 0, 0 }
};
static const struct rec_field rec_usage_fields[] = {
	{ "instructions", RF_UINT_NULL, 0 }, { "memory", RF_UINT, 0 },
	{ "cpu_ms", RF_NUM, 0 }, { "wall_ms", RF_NUM, 0 }, { "calls", RF_UINT, 0 },
	{ NULL, 0, 0 }
};

/* The capabilities as the wire names them (lua-stdlib/cap.lua). */
static const char *const rec_caps[] = {
	"log", "kv", "http", "secret", "time", NULL
};

struct rec_rd {
	const char	*name;		/* the file, for messages */
	char		*err;
	size_t		 len;
};

static int
rec_bad(struct rec_rd *rd, const char *path, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(rd->err, rd->len, "%s: %s%s%s", rd->name, path,
	    path[0] != '\0' ? ": " : "", msg);
	return -1;
}

static int
rec_type_ok(const json_t *v, enum rec_ftype t)
{
	enum mb_kind k;

	switch (t) {
	case RF_NAME:	return json_is_string(v);
	case RF_TEXT:	return json_is_string(v) ||
			    (rec_tag(v) != NULL && strcmp(rec_tag(v), "$base64") == 0);
	case RF_INT:	return json_is_integer(v);
	case RF_UINT:	return json_is_integer(v) && json_integer_value(v) >= 0;
	case RF_NUM:	return json_is_number(v) && json_number_value(v) >= 0;
	case RF_UINT_NULL: return json_is_null(v) || rec_type_ok(v, RF_UINT);
	case RF_ARRAY:	return json_is_array(v);
	case RF_OBJECT:	return json_is_object(v);
	case RF_VALUE:	return 1;
	case RF_KIND:	return json_is_string(v) &&
			    kind_from_name(json_string_value(v), &k) == 0;
	}
	return 0;
}

static const char *
rec_type_name(enum rec_ftype t)
{
	static const char *const names[] = {
		[RF_NAME] = "a string", [RF_TEXT] = "a string or {\"$base64\": …}",
		[RF_INT] = "an integer", [RF_UINT] = "a whole number",
		[RF_NUM] = "a number of at least 0",
		[RF_UINT_NULL] = "a whole number or null",
		[RF_ARRAY] = "an array", [RF_OBJECT] = "an object",
		[RF_VALUE] = "a value",
		[RF_KIND] = "an error kind (ok, runtime, denied, …)",
	};

	return names[t];
}

/* obj has exactly the fields of the table, each of its type. */
static int
rec_fields(struct rec_rd *rd, const char *path, const json_t *obj,
    const struct rec_field *f)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return rec_bad(rd, path, "expected an object");
	json_object_foreach((json_t *)obj, key, v) {
		const struct rec_field *k;

		for (k = f; k->key != NULL && strcmp(k->key, key) != 0; k++)
			;
		if (k->key == NULL)
			return rec_bad(rd, path, "unknown member \"%s\"", key);
		if (!rec_type_ok(v, k->type))
			return rec_bad(rd, path, "\"%s\" must be %s", key,
			    rec_type_name(k->type));
	}
	for (; f->key != NULL; f++)
		if (!f->optional && json_object_get(obj, f->key) == NULL)
			return rec_bad(rd, path, "\"%s\" is missing", f->key);
	return 0;
}

/* A tagged text member as a C string: no NUL inside. */
static int
rec_cstr(struct rec_rd *rd, const char *path, const json_t *obj,
    const char *key, char **out)
{
	size_t n;

	if (rec_bytes(json_object_get(obj, key), out, &n) < 0)
		return rec_bad(rd, path, "\"%s\" is not a string or valid "
		    "{\"$base64\": …}", key);
	if (strlen(*out) != n) {
		free(*out);
		*out = NULL;
		return rec_bad(rd, path, "\"%s\" holds a NUL byte", key);
	}
	return 0;
}

static uint64_t
rec_u(const json_t *obj, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(obj, key));
}

static enum mb_kind
rec_kind_of(const json_t *obj)
{
	enum mb_kind k = MB_INTERNAL;

	kind_from_name(json_string_value(json_object_get(obj, "kind")), &k);
	return k;
}

/* A value member, checked and made canonical. */
static int
rec_take_value(struct rec_rd *rd, const char *path, const json_t *obj,
    const char *key, json_t **out)
{
	char where[256], msg[400];

	snprintf(where, sizeof where, "%.120s%s%.120s", path,
	    path[0] ? "." : "", key);
	*out = json_incref(json_object_get(obj, key));
	if (rec_canon(out, where, msg, sizeof msg) == 0)
		return 0;
	json_decref(*out);
	*out = NULL;
	snprintf(rd->err, rd->len, "%s: %s", rd->name, msg);
	return -1;
}

static int
rec_rd_limits(struct rec_rd *rd, const json_t *l, struct lim_config *c)
{
	if (rec_fields(rd, "limits", l, rec_limit_fields) < 0)
		return -1;
	c->memory = (size_t)rec_u(l, "memory");
	c->instructions = rec_u(l, "instructions");
	c->timeout_us = rec_u(l, "timeout_us");
	c->output = (size_t)rec_u(l, "output");
	c->log = (size_t)rec_u(l, "log");
	c->calls = rec_u(l, "calls");
	if (c->memory == 0 || c->memory > ((size_t)1 << 40))
		return rec_bad(rd, "limits", "\"memory\" must be 1 to "
		    "1099511627776 bytes");
	if (c->timeout_us == 0 || c->timeout_us > 3600000000ull)
		return rec_bad(rd, "limits", "\"timeout_us\" must be 1 to "
		    "3600000000 (an hour)");
	if (c->output == 0)
		return rec_bad(rd, "limits", "\"output\" must be above 0");
	return 0;
}

static int
rec_rd_seed(struct rec_rd *rd, const json_t *s, struct recording *rec)
{
	if (s == NULL)
		return 0;
	if (json_array_size(s) != 2 || !json_is_integer(json_array_get(s, 0)) ||
	    !json_is_integer(json_array_get(s, 1)))
		return rec_bad(rd, "seed", "expected two integers");
	rec->has_seed = 1;
	rec->seed[0] = json_integer_value(json_array_get(s, 0));
	rec->seed[1] = json_integer_value(json_array_get(s, 1));
	return 0;
}

static int
rec_rd_source(struct rec_rd *rd, const json_t *lines, struct recording *rec)
{
	struct rec_buf b = { NULL, 0, 0, 0 };
	size_t i, n;
	json_t *v;
	char *p;

	rec_put(&b, "", 0);
	json_array_foreach(lines, i, v) {
		if (!rec_type_ok(v, RF_TEXT) || rec_bytes(v, &p, &n) < 0) {
			free(b.p);
			return rec_bad(rd, "source", "line %zu is not a string or "
			    "valid {\"$base64\": …}", i + 1);
		}
		rec_put(&b, "\n", i > 0);
		rec_put(&b, p, n);
		free(p);
	}
	if (b.failed || json_array_size(lines) == 0) {
		free(b.p);
		return rec_bad(rd, "source", b.failed ? "out of memory" :
		    "expected the lines of the rule");
	}
	rec->source = b.p;
	rec->srclen = b.n;
	return 0;
}

static int
rec_rd_redacted(struct rec_rd *rd, const json_t *a, struct recording *rec)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (!json_is_string(v) || json_string_length(v) == 0)
			return rec_bad(rd, "redacted", "expected the names of "
			    "secrets (strings)");
	rec->redacted = json_incref((json_t *)a);
	return 0;
}

static int
rec_rd_cap(struct rec_rd *rd, const char *path, const char *cap,
    const char *method)
{
	int known = 0;

	for (int i = 0; rec_caps[i] != NULL; i++)
		known |= strcmp(rec_caps[i], cap) == 0;
	if (!known)
		return rec_bad(rd, path, "unknown capability \"%s\" (log, kv, "
		    "http, secret or time)", cap);
	if (method[0] == '\0' || strlen(method) >= 32)
		return rec_bad(rd, path, "\"method\" must be 1 to 31 bytes");
	return 0;
}

/* A reply or outcome: kind, message, and a value only when ok. */
static int
rec_rd_reply(struct rec_rd *rd, const char *path, const json_t *o,
    enum mb_kind *kind, char **message, json_t **value)
{
	*kind = rec_kind_of(o);
	if (rec_cstr(rd, path, o, "message", message) < 0 ||
	    rec_take_value(rd, path, o, "value", value) < 0)
		return -1;
	if (*kind != MB_OK && !json_is_null(*value))
		return rec_bad(rd, path, "\"value\" must be null unless "
		    "\"kind\" is \"ok\"");
	return 0;
}

static int
rec_rd_call(struct rec_rd *rd, size_t i, const json_t *j, struct rec_call *c)
{
	char path[48], rpath[64];
	const json_t *reply;

	snprintf(path, sizeof path, "calls[%zu]", i);
	snprintf(rpath, sizeof rpath, "%s.reply", path);
	if (rec_fields(rd, path, j, rec_call_fields) < 0)
		return -1;
	reply = json_object_get(j, "reply");
	if (rec_fields(rd, rpath, reply, rec_reply_fields) < 0)
		return -1;
	c->cap = strdup(json_string_value(json_object_get(j, "capability")));
	c->method = strdup(json_string_value(json_object_get(j, "method")));
	if (c->cap == NULL || c->method == NULL)
		return rec_bad(rd, path, "out of memory");
	if (rec_rd_cap(rd, path, c->cap, c->method) < 0 ||
	    rec_take_value(rd, path, j, "args", &c->args) < 0)
		return -1;
	return rec_rd_reply(rd, rpath, reply, &c->reply_kind,
	    &c->reply_message, &c->reply_value);
}

static int
rec_rd_calls(struct rec_rd *rd, const json_t *a, struct recording *rec)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (rec_grow(rec) < 0)
			return rec_bad(rd, "calls", "out of memory");
		memset(&rec->calls[rec->ncalls], 0, sizeof rec->calls[0]);
		rec->ncalls++;
		if (rec_rd_call(rd, i, v, &rec->calls[rec->ncalls - 1]) < 0)
			return -1;
	}
	return 0;
}

static int
rec_rd_outcome(struct rec_rd *rd, const json_t *j, struct rec_outcome *o)
{
	const json_t *u = json_object_get(j, "usage");
	size_t i;
	json_t *v;

	if (rec_fields(rd, "outcome", j, rec_outcome_fields) < 0 ||
	    rec_fields(rd, "outcome.usage", u, rec_usage_fields) < 0)
		return -1;
	json_decref(o->value);
	o->value = NULL;
	json_decref(o->log);
	o->log = NULL;
	if (rec_rd_reply(rd, "outcome", j, &o->kind, &o->message, &o->value) < 0)
		return -1;
	json_array_foreach(json_object_get(j, "log"), i, v)
		if (!rec_type_ok(v, RF_TEXT))
			return rec_bad(rd, "outcome.log", "line %zu is not a "
			    "string or {\"$base64\": …}", i + 1);
	if (rec_take_value(rd, "outcome", j, "log", &o->log) < 0)
		return -1;
	o->set = 1;
	o->log_dropped = (unsigned)rec_u(j, "log_dropped");
	o->counted = !json_is_null(json_object_get(u, "instructions"));
	o->instructions = rec_u(u, "instructions");
	o->memory = rec_u(u, "memory");
	o->calls = rec_u(u, "calls");
	o->cpu_ms = json_number_value(json_object_get(u, "cpu_ms"));
	o->wall_ms = json_number_value(json_object_get(u, "wall_ms"));
	return 0;
}

/* What says it is a recording, and of which version, before the rest. */
static int
rec_rd_kind(struct rec_rd *rd, const json_t *top)
{
	const json_t *m = json_object_get(top, "moonbox");
	const json_t *v = json_object_get(top, "version");

	if (!json_is_object(top) || !json_is_string(m) ||
	    strcmp(json_string_value(m), "recording") != 0)
		return rec_bad(rd, "", "not a moonbox recording (it has no "
		    "\"moonbox\": \"recording\")");
	if (!json_is_integer(v))
		return rec_bad(rd, "", "\"version\" must be an integer");
	if (json_integer_value(v) != REC_VERSION)
		return rec_bad(rd, "", "a recording of version %lld; this "
		    "moonbox reads version %d", (long long)json_integer_value(v),
		    REC_VERSION);
	return rec_fields(rd, "", top, rec_top_fields);
}

static int
rec_rd_names(struct rec_rd *rd, const json_t *top, struct recording *rec)
{
	const char *rule = json_string_value(json_object_get(top, "rule"));
	const char *pool = json_string_value(json_object_get(top, "pool"));
	const char *at = json_string_value(json_object_get(top, "recorded"));

	if (strlen(rule) == 0 || strlen(rule) > PROTO_NAME_MAX ||
	    strstr(rule, "..") != NULL || rule[0] == '/')
		return rec_bad(rd, "rule", "expected a rule name of 1 to %d "
		    "bytes (payments/fraud)", PROTO_NAME_MAX);
	if (strlen(pool) > PROTO_NAME_MAX)
		return rec_bad(rd, "pool", "longer than %d bytes",
		    PROTO_NAME_MAX);
	if (strlen(at) >= sizeof rec->recorded)
		return rec_bad(rd, "recorded", "expected a time like "
		    "2024-05-01T12:00:00Z");
	snprintf(rec->recorded, sizeof rec->recorded, "%s", at);
	rec->rule = strdup(rule);
	rec->pool = strdup(pool);
	if (rec->rule == NULL || rec->pool == NULL)
		return rec_bad(rd, "", "out of memory");
	if (rec_cstr(rd, "", top, "invocation", &rec->invocation) < 0)
		return -1;
	if (strlen(rec->invocation) > PROTO_ID_MAX)
		return rec_bad(rd, "invocation", "longer than %d bytes",
		    PROTO_ID_MAX);
	return 0;
}

static int
rec_rd_all(struct rec_rd *rd, const json_t *top, struct recording *rec)
{
	if (rec_rd_kind(rd, top) < 0 || rec_rd_names(rd, top, rec) < 0 ||
	    rec_rd_seed(rd, json_object_get(top, "seed"), rec) < 0 ||
	    rec_rd_limits(rd, json_object_get(top, "limits"),
	    &rec->limits) < 0 ||
	    rec_rd_redacted(rd, json_object_get(top, "redacted"), rec) < 0 ||
	    rec_rd_source(rd, json_object_get(top, "source"), rec) < 0 ||
	    rec_take_value(rd, "", top, "input", &rec->input) < 0 ||
	    rec_rd_calls(rd, json_object_get(top, "calls"), rec) < 0)
		return -1;
	return rec_rd_outcome(rd, json_object_get(top, "outcome"),
	    &rec->outcome);
}

int
rec_parse(const char *text, size_t n, const char *name,
    struct recording **out, char *err, size_t errlen)
{
	struct rec_rd rd = { name, err, errlen };
	struct recording *rec;
	json_error_t je;
	json_t *top;

	*out = NULL;
	top = json_loadb(text, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (top == NULL)
		return rec_errf(err, errlen, "%s:%d:%d: not valid JSON: %s",
		    name, je.line, je.column, je.text);
	if ((rec = calloc(1, sizeof *rec)) == NULL) {
		json_decref(top);
		return rec_errf(err, errlen, "%s: out of memory", name);
	}
	rec->outcome.value = json_null();
	rec->outcome.log = json_array();
	if (rec_rd_all(&rd, top, rec) < 0) {
		json_decref(top);
		rec_free(rec);
		return -1;
	}
	json_decref(top);
	*out = rec;
	return 0;
}

int
rec_read(const char *path, struct recording **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;
	size_t n;
	int r;

	*out = NULL;
	if (f == NULL)
		return rec_errf(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)REC_FILE_MAX) {
		fclose(f);
		return rec_errf(err, errlen, "%s: %s", path,
		    st.st_size > (off_t)REC_FILE_MAX ? "larger than the 256 MiB "
		    "a recording may have" : "not a regular file");
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return rec_errf(err, errlen, "%s: out of memory", path);
	}
	n = fread(buf, 1, (size_t)st.st_size + 1, f);
	if (ferror(f) || n > (size_t)st.st_size)
		r = rec_errf(err, errlen, "%s: %s", path, ferror(f) ?
		    strerror(errno) : "the file grew while it was read");
	else
		r = rec_parse(buf, n, path, out, err, errlen);
	free(buf);
	fclose(f);
	return r;
}
