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
#include "jsonmp.h"
#include "limit.h"

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

	if (depth > LIM_MAX_DEPTH)
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
		msgpack_pack_array(pk, json_array_size(j));
		json_array_foreach(j, i, v)
			if (jmp_pack(pk, v, depth + 1, err, len) < 0)
				return -1;
		return 0;
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(j));
		json_object_foreach(j, key, v) {
			msgpack_pack_str_with_body(pk, key, strlen(key));
			if (jmp_pack(pk, v, depth + 1, err, len) < 0)
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
	msgpack_packer pk;
	json_error_t je;
	json_t *j;
	int r;

	j = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (j == NULL) {
		snprintf(err, len, "%s at line %d column %d", je.text,
		    je.line, je.column);
		return -1;
	}
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	r = jmp_pack(&pk, j, 0, err, len);
	json_decref(j);
	return r < 0 ? -1 : 0;
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

static json_t *jmp_tree_value(const msgpack_object *, int, int *, char *,
    size_t);

static json_t *
jmp_tree_map(const msgpack_object_map *m, int depth, int *digits, char *err,
    size_t len)
{
	json_t *o = json_object(), *v;
	char kbuf[32];

	if (o == NULL)
		return jmp_tree_fail(o, err, len, "out of memory");
	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;
		char *key;

		if (k->type == MSGPACK_OBJECT_STR) {
			if (!conv_utf8_valid(k->via.str.ptr, k->via.str.size) ||
			    memchr(k->via.str.ptr, 0, k->via.str.size) != NULL)
				return jmp_tree_fail(o, err, len, "a key is not "
				    "valid UTF-8 or holds a NUL byte");
			if ((key = strndup(k->via.str.ptr, k->via.str.size))
			    == NULL)
				return jmp_tree_fail(o, err, len,
				    "out of memory");
		} else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
			snprintf(kbuf, sizeof kbuf, "%llu",
			    (unsigned long long)k->via.u64);
			key = strdup(kbuf);
		} else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
			snprintf(kbuf, sizeof kbuf, "%lld",
			    (long long)k->via.i64);
			key = strdup(kbuf);
		} else
			return jmp_tree_fail(o, err, len, "keys must be "
			    "strings or integers");
		if (key == NULL)
			return jmp_tree_fail(o, err, len, "out of memory");
		v = jmp_tree_value(&m->ptr[i].val, depth + 1, digits, err, len);
		if (v == NULL || json_object_set_new(o, key, v) < 0) {
			free(key);
			return jmp_tree_fail(o, NULL, 0, NULL);
		}
		free(key);
	}
	return o;
}

static json_t *
jmp_tree_value(const msgpack_object *v, int depth, int *digits, char *err,
    size_t len)
{
	json_t *j;
	int d;

	if (depth > LIM_MAX_DEPTH)
		return jmp_tree_fail(NULL, err, len,
		    "nesting is deeper than 64 levels");
	switch (v->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(v->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (v->via.u64 > (uint64_t)INT64_MAX)
			return jmp_tree_fail(NULL, err, len,
			    "integer out of range");
		return json_integer((json_int_t)v->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer((json_int_t)v->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isnan(v->via.f64) || isinf(v->via.f64))
			return jmp_tree_fail(NULL, err, len,
			    "NaN and infinity have no JSON form");
		if ((d = jmp_digits(v->via.f64)) > *digits)
			*digits = d;
		return json_real(v->via.f64);
	case MSGPACK_OBJECT_STR:
		if (!conv_utf8_valid(v->via.str.ptr, v->via.str.size))
			return jmp_tree_fail(NULL, err, len,
			    "a string is not valid UTF-8");
		return json_stringn(v->via.str.ptr, v->via.str.size);
	case MSGPACK_OBJECT_ARRAY:
		if ((j = json_array()) == NULL)
			return NULL;
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			json_t *e = jmp_tree_value(&v->via.array.ptr[i], depth + 1,
			    digits, err, len);

			if (e == NULL || json_array_append_new(j, e) < 0)
				return jmp_tree_fail(j, NULL, 0, NULL);
		}
		return j;
	case MSGPACK_OBJECT_MAP:
		return jmp_tree_map(&v->via.map, depth, digits, err, len);
	default:
		return jmp_tree_fail(NULL, err, len,
		    "binary and extension values have no JSON form");
	}
}

json_t *
jmp_tree(const msgpack_object *v, int *digits, char *err, size_t len)
{
	if (err != NULL && len > 0)
		snprintf(err, len, "out of memory");
	return jmp_tree_value(v, 0, digits, err, len);
}

char *
jmp_to_json(const msgpack_object *v, char *err, size_t len)
{
	int digits = 1;
	json_t *j;
	char *s;

	if ((j = jmp_tree(v, &digits, err, len)) == NULL)
		return NULL;
	json_free_t jfree;
	char *out;

	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(digits));
	json_decref(j);
	if (s == NULL)
		return NULL;
	out = strdup(s);	/* the caller frees with free() */
	json_get_alloc_funcs(NULL, &jfree);
	jfree(s);
	return out;
}
