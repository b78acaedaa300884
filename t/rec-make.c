/*
 * rec-make.c: makes a recording the way the daemon does, for t/replay.t:
 * runs a rule once in this process (invoke.c) with its capability calls
 * answered from a list of replies, records input, calls, replies, seed and
 * outcome with record.c, redacts the secrets named, and writes the file.
 *
 *   rec-make RULE.lua NAME OUT.json [INPUT.json [REPLIES.json
 *       [SECRET=VALUE ...]]]
 *
 * REPLIES.json is an array of {"kind": …, "message": …, "value": …}, one
 * per call in order (missing members: ok, "", null); calls past its end
 * get ok and nil. Exit 0 when the file was written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "invoke.h"
#include "jsonmp.h"
#include "mod.h"
#include "mpr.h"
#include "msg.h"
#include "record.h"
#include "sandbox.h"

struct maker {
	struct recording	*rec;
	json_t			*replies;
	size_t			 next;
	int			 failed;
};

static json_t *
load_json(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, JSON_DECODE_ANY, &e);

	if (j == NULL)
		fprintf(stderr, "rec-make: %s:%d: %s\n", path, e.line, e.text);
	return j;
}

/* The next reply: kind, message and value (msgpack). */
static void
next_reply(struct maker *mk, enum mb_kind *kind, const char **message,
    msgpack_sbuffer *value)
{
	json_t *r = json_array_get(mk->replies, mk->next++);
	msgpack_packer pk;
	const char *k;

	*kind = MB_OK;
	*message = "";
	msgpack_packer_init(&pk, value, msgpack_sbuffer_write);
	if (r == NULL) {
		msgpack_pack_nil(&pk);
		return;
	}
	if ((k = json_string_value(json_object_get(r, "kind"))) != NULL &&
	    kind_from_name(k, kind) < 0)
		mk->failed = 1;
	if (json_is_string(json_object_get(r, "message")))
		*message = json_string_value(json_object_get(r, "message"));
	if (rec_value_pack(json_object_get(r, "value") != NULL ?
	    json_object_get(r, "value") : json_null(), &pk) < 0)
		mk->failed = 1;
}

/* The capability handler: record the call, answer it. */
static char *
serve(void *ud, const char *body, size_t len, size_t *rlen)
{
	struct maker *mk = ud;
	struct msg_cap_call c;
	msgpack_sbuffer value, out;
	msgpack_packer pk;
	enum mb_kind kind;
	const char *message;
	struct mpr r;
	char *reply = NULL;

	mpr_init(&r, body, len);
	if (msg_cap_call_decode(&r, &c) < 0)
		return NULL;
	msgpack_sbuffer_init(&value);
	msgpack_sbuffer_init(&out);
	next_reply(mk, &kind, &message, &value);
	if (rec_add_call(mk->rec, c.cap, c.method, c.args.p, c.args.n, kind,
	    message, value.data, value.size) < 0)
		mk->failed = 1;
	msg_cap_reply_begin(&out, &pk, c.seq, kind, message);
	if (kind == MB_OK)
		msgpack_sbuffer_write(&out, value.data, value.size);
	else
		msgpack_pack_nil(&pk);
	if (msg_finish(&out) == 0 &&
	    (reply = malloc(out.size - PROTO_FRAME_HEADER)) != NULL) {
		*rlen = out.size - PROTO_FRAME_HEADER;
		memcpy(reply, out.data + PROTO_FRAME_HEADER, *rlen);
	}
	msgpack_sbuffer_destroy(&value);
	msgpack_sbuffer_destroy(&out);
	return reply;
}

static char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	if (f == NULL || buf == NULL) {
		free(buf);
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	*n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static int
redact_all(struct recording *rec, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL)
			return -1;
		*eq = '\0';
		if (rec_redact(rec, argv[i], eq + 1) < 0)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct maker mk = { 0 };
	struct inv_sandbox sb;
	struct inv_request req = { 0 };
	struct inv_outcome out;
	msgpack_sbuffer in;
	char err[512], chunk[300], *src;
	int64_t seed[2];
	json_t *input = NULL;
	size_t n;

	if (argc < 4 || sbx_init() < 0 || (src = slurp(argv[1], &n)) == NULL) {
		fprintf(stderr, "usage: rec-make RULE.lua NAME OUT.json "
		    "[INPUT.json [REPLIES.json [SECRET=VALUE ...]]]\n");
		return 2;
	}
	msgpack_sbuffer_init(&in);
	if (argc > 4 && ((input = load_json(argv[4])) == NULL ||
	    rec_value_pack(input, &(msgpack_packer){ &in,
	    msgpack_sbuffer_write }) < 0))
		return 2;
	mk.replies = argc > 5 ? load_json(argv[5]) : json_array();
	lim_defaults(&req.limits);
	mk.rec = rec_new(argv[2], src, n, in.data, in.size, &req.limits,
	    "rec-make-1", "default");
	if (mk.rec == NULL || mk.replies == NULL || inv_prepare(&sb) < 0)
		return 2;
	snprintf(chunk, sizeof chunk, "@%s.lua", argv[2]);
	req.rule = argv[2];
	req.chunkname = chunk;
	req.source = src;
	req.source_len = n;
	req.input = in.size > 0 ? in.data : NULL;
	req.input_len = in.size;
	req.id = "rec-make-1";
	modcap_set_handler(serve, &mk);
	inv_outcome_init(&out);
	inv_run(&sb, &req, &out);
	if (sbx_seed(sb.L, seed) == 0)
		rec_set_seed(mk.rec, seed);
	inv_discard(&sb);
	if (rec_set_outcome(mk.rec, &out) < 0 || mk.failed ||
	    redact_all(mk.rec, argc - 6, argv + 6) < 0 ||
	    rec_write(mk.rec, argv[3], err, sizeof err) < 0) {
		fprintf(stderr, "rec-make: %s\n", mk.failed ? "bad replies" : err);
		return 1;
	}
	inv_outcome_free(&out);
	rec_free(mk.rec);
	json_decref(mk.replies);
	json_decref(input);
	msgpack_sbuffer_destroy(&in);
	free(src);
	return 0;
}
