/*
 * tester_msg.c: the messages between `moonbox test` and its workers
 * (tester.h), packed and decoded in mirrored pairs. Frames are proto.h's;
 * every decoder reads the array, the type, each field in order, checks
 * its bounds and insists that nothing is left over, as msg.c's do.
 * Uses msg.c to frame and mpr.c to read.
 */
#include <stdlib.h>
#include <string.h>

#include "mpr.h"
#include "msg.h"
#include "tester.h"

static void
tmsg_begin(msgpack_sbuffer *sb, msgpack_packer *pk, enum tst_msg t, int n)
{
	msg_begin(sb, pk, (enum proto_type)t, n);
}

/* A string field copied out: no NUL inside, at most max bytes. */
static int
tmsg_dup(struct mpr *r, size_t max, char **out)
{
	const char *s;
	size_t n;

	if (mpr_str(r, &s, &n) < 0)
		return -1;
	if (n > max || memchr(s, '\0', n) != NULL)
		return msg_fail(r, "string field too long or holds a NUL");
	if ((*out = strndup(s, n)) == NULL)
		return msg_fail(r, "out of memory");
	return 0;
}

static int
tmsg_cstr_into(struct mpr *r, char *buf, size_t cap)
{
	char *s;

	if (tmsg_dup(r, cap - 1, &s) < 0)
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	free(s);
	return 0;
}

static int
tmsg_index(struct mpr *r, size_t *index)
{
	uint64_t v;

	if (mpr_uint(r, &v) < 0)
		return -1;
	if (v >= TST_MAX_TESTS)
		return msg_fail(r, "test index out of range");
	*index = (size_t)v;
	return 0;
}

/* LIST */

int
tmsg_list_pack(msgpack_sbuffer *sb, const struct tst_test *t, size_t n)
{
	msgpack_packer pk;

	tmsg_begin(sb, &pk, TST_MSG_LIST, 1);
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_array(&pk, 5);
		msg_pack_cstr(&pk, t[i].name);
		msgpack_pack_array(&pk, (size_t)t[i].nsuite);
		for (int j = 0; j < t[i].nsuite; j++)
			msg_pack_cstr(&pk, t[i].suite[j]);
		msg_pack_cstr(&pk, t[i].test);
		msgpack_pack_uint64(&pk, t[i].line);
		if (t[i].skip)
			msgpack_pack_true(&pk);
		else
			msgpack_pack_false(&pk);
	}
	return msg_finish(sb);
}

static int
tmsg_test_decode(struct mpr *r, struct tst_test *t)
{
	uint32_t n, ns;
	uint64_t line;

	if (mpr_array(r, &n) < 0)
		return -1;
	if (n != 5)
		return msg_fail(r, "a test has the wrong number of fields");
	if (tmsg_dup(r, 4096, &t->name) < 0 || mpr_array(r, &ns) < 0)
		return -1;
	if (ns > 64)
		return msg_fail(r, "describe blocks nested too deep");
	if ((t->suite = calloc(ns + 1, sizeof *t->suite)) == NULL)
		return msg_fail(r, "out of memory");
	for (uint32_t i = 0; i < ns; i++, t->nsuite++)
		if (tmsg_dup(r, 4096, &t->suite[i]) < 0)
			return -1;
	if (tmsg_dup(r, 4096, &t->test) < 0 || mpr_uint(r, &line) < 0 ||
	    mpr_bool(r, &t->skip) < 0)
		return -1;
	if (line > INT32_MAX)
		return msg_fail(r, "line out of range");
	t->line = (unsigned)line;
	return 0;
}

int
tmsg_list_decode(struct mpr *r, struct tst_test **out, size_t *nout)
{
	struct tst_test *t;
	uint32_t n;

	*out = NULL;
	*nout = 0;
	if (msg_open(r, TST_MSG_LIST, 1) < 0 || mpr_array(r, &n) < 0)
		return -1;
	if (n > TST_MAX_TESTS)
		return msg_fail(r, "too many tests");
	if ((t = calloc(n + 1, sizeof *t)) == NULL)
		return msg_fail(r, "out of memory");
	*out = t;
	for (uint32_t i = 0; i < n; i++, (*nout)++)
		if (tmsg_test_decode(r, &t[i]) < 0) {
			(*nout)++;	/* freed with the others */
			return -1;
		}
	return mpr_end(r);
}

/* LOAD_ERROR, BEGIN, NEED_RULE, DONE */

int
tmsg_load_error_pack(msgpack_sbuffer *sb, const char *why)
{
	msgpack_packer pk;

	tmsg_begin(sb, &pk, TST_MSG_LOAD_ERROR, 1);
	msg_pack_cstr(&pk, why);
	return msg_finish(sb);
}

int
tmsg_load_error_decode(struct mpr *r, char **why)
{
	if (msg_open(r, TST_MSG_LOAD_ERROR, 1) < 0 ||
	    tmsg_dup(r, 8192, why) < 0)
		return -1;
	return mpr_end(r);
}

int
tmsg_begin_pack(msgpack_sbuffer *sb, size_t index)
{
	msgpack_packer pk;

	tmsg_begin(sb, &pk, TST_MSG_BEGIN, 1);
	msgpack_pack_uint64(&pk, index);
	return msg_finish(sb);
}

int
tmsg_begin_decode(struct mpr *r, size_t *index)
{
	if (msg_open(r, TST_MSG_BEGIN, 1) < 0 || tmsg_index(r, index) < 0)
		return -1;
	return mpr_end(r);
}

int
tmsg_need_rule_pack(msgpack_sbuffer *sb, const char *rule)
{
	msgpack_packer pk;

	tmsg_begin(sb, &pk, TST_MSG_NEED_RULE, 1);
	msg_pack_cstr(&pk, rule);
	return msg_finish(sb);
}

int
tmsg_need_rule_decode(struct mpr *r, char *rule, size_t cap)
{
	if (msg_open(r, TST_MSG_NEED_RULE, 1) < 0 ||
	    tmsg_cstr_into(r, rule, cap) < 0)
		return -1;
	return mpr_end(r);
}

int
tmsg_done_pack(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	tmsg_begin(sb, &pk, TST_MSG_DONE, 0);
	return msg_finish(sb);
}

int
tmsg_done_decode(struct mpr *r)
{
	if (msg_open(r, TST_MSG_DONE, 0) < 0)
		return -1;
	return mpr_end(r);
}

/* RESULT */

static const char *const tmsg_status[] = {
	[TST_PASS] = "pass", [TST_FAIL] = "fail", [TST_SKIP] = "skip",
	[TST_ERROR] = "error",
};

const char *
tmsg_status_name(enum tst_status s)
{
	return tmsg_status[s];
}

int
tmsg_result_pack(msgpack_sbuffer *sb, size_t index, const struct tst_test *t)
{
	const struct tst_usage *u = &t->usage;
	msgpack_packer pk;

	tmsg_begin(sb, &pk, TST_MSG_RESULT, 6);
	msgpack_pack_uint64(&pk, index);
	msg_pack_cstr(&pk, tmsg_status[t->status]);
	msg_pack_cstr(&pk, t->message);
	msgpack_pack_uint64(&pk, t->duration_us);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, u->invocations);
	if (u->counted)
		msgpack_pack_uint64(&pk, u->instructions);
	else
		msgpack_pack_nil(&pk);
	msgpack_pack_uint64(&pk, u->memory);
	msgpack_pack_uint64(&pk, u->wall_us);
	msgpack_pack_array(&pk, t->nlog);
	for (size_t i = 0; i < t->nlog; i++) {
		msgpack_pack_bin(&pk, strlen(t->log[i]));
		msgpack_pack_bin_body(&pk, t->log[i], strlen(t->log[i]));
	}
	return msg_finish(sb);
}

static int
tmsg_status_decode(struct mpr *r, enum tst_status *s)
{
	char name[16];

	if (tmsg_cstr_into(r, name, sizeof name) < 0)
		return -1;
	if (strcmp(name, "pass") == 0)
		*s = TST_PASS;
	else if (strcmp(name, "fail") == 0)
		*s = TST_FAIL;
	else
		return msg_fail(r, "a test is reported as neither pass nor "
		    "fail");
	return 0;
}

static int
tmsg_usage_decode(struct mpr *r, struct tst_usage *u)
{
	uint32_t n;

	if (mpr_array(r, &n) < 0)
		return -1;
	if (n != 4)
		return msg_fail(r, "usage has the wrong number of fields");
	if (mpr_uint(r, &u->invocations) < 0)
		return -1;
	u->counted = !mpr_is_nil(r);
	if ((u->counted && mpr_uint(r, &u->instructions) < 0) ||
	    mpr_uint(r, &u->memory) < 0 || mpr_uint(r, &u->wall_us) < 0)
		return -1;
	return 0;
}

/* Log lines: bytes with a NUL become '?', so they are C strings. */
static int
tmsg_log_decode(struct mpr *r, struct tst_test *t)
{
	uint32_t n;

	if (mpr_array(r, &n) < 0)
		return -1;
	if ((t->log = calloc(n + 1, sizeof *t->log)) == NULL)
		return msg_fail(r, "out of memory");
	for (uint32_t i = 0; i < n; i++, t->nlog++) {
		const char *s;
		size_t len;

		if (mpr_bytes(r, &s, &len) < 0)
			return -1;
		if ((t->log[i] = malloc(len + 1)) == NULL)
			return msg_fail(r, "out of memory");
		for (size_t k = 0; k < len; k++)
			t->log[i][k] = s[k] != '\0' ? s[k] : '?';
		t->log[i][len] = '\0';
	}
	return 0;
}

int
tmsg_result_decode(struct mpr *r, size_t *index, struct tst_test *t)
{
	if (msg_open(r, TST_MSG_RESULT, 6) < 0 || tmsg_index(r, index) < 0 ||
	    tmsg_status_decode(r, &t->status) < 0 ||
	    tmsg_dup(r, 1u << 20, &t->message) < 0 ||
	    mpr_uint(r, &t->duration_us) < 0 ||
	    tmsg_usage_decode(r, &t->usage) < 0 || tmsg_log_decode(r, t) < 0)
		return -1;
	return mpr_end(r);
}

/* COVERAGE: the executable lines and their counts. */

int
tmsg_coverage_pack(msgpack_sbuffer *sb, const char *rule,
    const uint64_t *hits, const unsigned char *active, size_t nlines)
{
	msgpack_packer pk;
	size_t n = 0;

	for (size_t i = 0; i < nlines; i++)
		n += active[i] != 0;
	tmsg_begin(sb, &pk, TST_MSG_COVERAGE, 3);
	msg_pack_cstr(&pk, rule);
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < nlines; i++)
		if (active[i])
			msgpack_pack_uint64(&pk, i);
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < nlines; i++)
		if (active[i])
			msgpack_pack_uint64(&pk, hits[i]);
	return msg_finish(sb);
}

/* Into arrays by line (nlines: the last line + 1), allocated here. */
int
tmsg_coverage_decode(struct mpr *r, char *rule, size_t cap, uint64_t **hits,
    unsigned char **active, size_t *nlines)
{
	uint64_t *lines = NULL;
	uint32_t n, m;
	int st = -1;

	*hits = NULL;
	*active = NULL;
	*nlines = 0;
	if (msg_open(r, TST_MSG_COVERAGE, 3) < 0 ||
	    tmsg_cstr_into(r, rule, cap) < 0 || mpr_array(r, &n) < 0)
		return -1;
	if ((lines = calloc(n + 1, sizeof *lines)) == NULL)
		return msg_fail(r, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		if (mpr_uint(r, &lines[i]) < 0)
			goto out;
		if (lines[i] >= TST_MAX_LINES || (i > 0 &&
		    lines[i] <= lines[i - 1])) {
			msg_fail(r, "coverage lines out of order or range");
			goto out;
		}
	}
	*nlines = n > 0 ? (size_t)lines[n - 1] + 1 : 0;
	if (mpr_array(r, &m) < 0)
		goto out;
	if (m != n) {
		msg_fail(r, "coverage counts do not match its lines");
		goto out;
	}
	*hits = calloc(*nlines + 1, sizeof **hits);
	*active = calloc(*nlines + 1, 1);
	if (*hits == NULL || *active == NULL) {
		msg_fail(r, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (mpr_uint(r, &(*hits)[lines[i]]) < 0)
			goto out;
		(*active)[lines[i]] = 1;
	}
	st = mpr_end(r);
out:
	free(lines);
	return st;
}

/* RULE, RUN (parent -> worker) */

int
tmsg_rule_pack(msgpack_sbuffer *sb, const char *rule, const char *src,
    size_t len)
{
	msgpack_packer pk;

	tmsg_begin(sb, &pk, TST_MSG_RULE, 3);
	msg_pack_cstr(&pk, rule);
	if (src != NULL)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	msg_pack_bytes(&pk, src != NULL ? src : "", src != NULL ? len : 0, 0);
	return msg_finish(sb);
}

int
tmsg_rule_decode(struct mpr *r, char *rule, size_t cap, int *found,
    const char **src, size_t *len)
{
	if (msg_open(r, TST_MSG_RULE, 3) < 0 ||
	    tmsg_cstr_into(r, rule, cap) < 0 || mpr_bool(r, found) < 0 ||
	    mpr_str(r, src, len) < 0)
		return -1;
	if (*len > TST_MAX_SOURCE || (!*found && *len > 0))
		return msg_fail(r, "rule source out of range");
	return mpr_end(r);
}

int
tmsg_run_pack(msgpack_sbuffer *sb, const size_t *v, size_t n)
{
	msgpack_packer pk;

	tmsg_begin(sb, &pk, TST_MSG_RUN, 1);
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_uint64(&pk, v[i]);
	return msg_finish(sb);
}

int
tmsg_run_decode(struct mpr *r, size_t **v, size_t *n)
{
	uint32_t k;

	*v = NULL;
	*n = 0;
	if (msg_open(r, TST_MSG_RUN, 1) < 0 || mpr_array(r, &k) < 0)
		return -1;
	if (k > TST_MAX_TESTS || (*v = calloc(k + 1, sizeof **v)) == NULL)
		return msg_fail(r, "too many tests");
	for (uint32_t i = 0; i < k; i++, (*n)++)
		if (tmsg_index(r, &(*v)[i]) < 0)
			return -1;
	return mpr_end(r);
}
