/*
 * gen-corpus.c: the seed corpora of the harnesses, t/fuzz/corpus/NAME/,
 * written from real messages: requests as clients send them, every frame of
 * proto.h as msg.c packs it, values as conv.c and jsonmp.c meet them, and
 * small policies. `make fuzz-corpus` runs it; the seeds are kept in the
 * source tree (with the two files of policy/ copied in by hand).
 *
 *   gen-corpus DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <msgpack.h>

#include "invoke.h"
#include "limit.h"
#include "msg.h"

static const char *outdir;

static void
put(const char *harness, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", outdir, harness);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof path, "%s/%s/%s", outdir, harness, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
pstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A frame's body: the harness of msg.c gets what a link hands over. */
static void
put_frame(const char *name, const msgpack_sbuffer *sb)
{
	put("msg", name, sb->data + PROTO_FRAME_HEADER,
	    sb->size - PROTO_FRAME_HEADER);
}

/* msgpack-RPC: two seed bytes (cuts and cap), then the stream. */
static void
put_rpc(const char *name, const msgpack_sbuffer *sb, unsigned char seed)
{
	char *p = malloc(sb->size + 2);

	p[0] = (char)seed;
	p[1] = 0x5a;
	memcpy(p + 2, sb->data, sb->size);
	put("rpc", name, p, sb->size + 2);
	free(p);
}

/* An event such as a platform sends: a payment. */
static void
pack_event(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	pstr(pk, "amount");
	msgpack_pack_int(pk, 1500);
	pstr(pk, "currency");
	pstr(pk, "EUR");
	pstr(pk, "country");
	pstr(pk, "FR");
	pstr(pk, "items");
	msgpack_pack_array(pk, 2);
	msgpack_pack_map(pk, 2);
	pstr(pk, "sku");
	pstr(pk, "A-1");
	pstr(pk, "price");
	msgpack_pack_double(pk, 12.5);
	msgpack_pack_map(pk, 0);
	pstr(pk, "card");
	msgpack_pack_nil(pk);
}

static void
pack_request(msgpack_packer *pk, uint32_t id, const char *method, int kind)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_int(pk, 0);
	msgpack_pack_uint32(pk, id);
	pstr(pk, method);
	if (strcmp(method, "invoke") != 0) {
		msgpack_pack_array(pk, 0);
		return;
	}
	msgpack_pack_array(pk, kind == 2 ? 3 : 2);
	pstr(pk, kind == 1 ? "payments/fraud" : "discount");
	if (kind == 1) {
		msgpack_pack_bin(pk, 4);
		msgpack_pack_bin_body(pk, "\x00\xff\x10\x20", 4);
	} else
		pack_event(pk);
	if (kind == 2) {
		msgpack_pack_map(pk, 4);
		pstr(pk, "deadline");
		msgpack_pack_int(pk, 100);
		pstr(pk, "memory");
		msgpack_pack_uint32(pk, 1u << 20);
		pstr(pk, "instructions");
		msgpack_pack_uint64(pk, 5000000);
		pstr(pk, "record");
		msgpack_pack_true(pk);
	}
}

static void
gen_rpc(void)
{
	static const char *const methods[] = { "ping", "rules", "stats",
	    "workers", "reload" };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char name[64];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		msgpack_sbuffer_clear(&sb);
		pack_request(&pk, (uint32_t)i + 1, methods[i], 0);
		snprintf(name, sizeof name, "%s", methods[i]);
		put_rpc(name, &sb, 0);
	}
	for (int k = 0; k < 3; k++) {
		msgpack_sbuffer_clear(&sb);
		pack_request(&pk, 7, "invoke", k);
		snprintf(name, sizeof name, "invoke-%d", k);
		put_rpc(name, &sb, (unsigned char)(2 * k));
	}
	/* Pipelined: several requests in one stream, cut anywhere. */
	msgpack_sbuffer_clear(&sb);
	for (uint32_t i = 0; i < 6; i++)
		pack_request(&pk, 100 + i, i % 2 ? "ping" : "invoke", (int)i % 3);
	put_rpc("pipelined", &sb, 4);
	/* The same with a small cap: past it the connection closes. */
	put_rpc("pipelined-cap", &sb, 1);
	/* A notification, then a request. */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, 2);
	pstr(&pk, "note");
	msgpack_pack_array(&pk, 0);
	pack_request(&pk, 5, "ping", 0);
	put_rpc("notification", &sb, 6);
	/* Faults a client makes: params not an array, an unknown option. */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, 9);
	pstr(&pk, "invoke");
	pstr(&pk, "echo");
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, 10);
	pstr(&pk, "invoke");
	msgpack_pack_array(&pk, 3);
	pstr(&pk, "a/b");
	msgpack_pack_nil(&pk);
	msgpack_pack_map(&pk, 1);
	pstr(&pk, "bogus");
	msgpack_pack_int(&pk, 1);
	put_rpc("faults", &sb, 8);
	msgpack_sbuffer_destroy(&sb);
}

static void
gen_msg(void)
{
	struct inv_request req = { 0 };
	struct inv_outcome o;
	struct msg_spawn sp = { 0 };
	struct msg_br_begin bb = { 0 };
	struct lim lm;
	msgpack_sbuffer sb, ev;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_init(&ev);
	msgpack_packer_init(&pk, &ev, msgpack_sbuffer_write);
	pack_event(&pk);
	req.id = "0123456789abcdef";
	req.rule = "payments/fraud";
	req.source = "return function(e) return { ok = e.amount < 1000 } end";
	req.source_len = strlen(req.source);
	req.input = ev.data;
	req.input_len = ev.size;
	lim_defaults(&req.limits);
	msg_invoke_pack(&sb, &req);
	put_frame("invoke", &sb);

	memset(&o, 0, sizeof o);
	msgpack_sbuffer_init(&o.result);
	msgpack_sbuffer_write(&o.result, ev.data, ev.size);
	o.kind = MB_OK;
	o.counted = 1;
	o.instructions = 1234;
	o.memory = 40000;
	o.cpu_ms = 0.25;
	o.wall_ms = 0.5;
	o.calls = 2;
	memset(&lm, 0, sizeof lm);
	lm.cfg.log = 1 << 16;
	lim_log_append(&lm, "score\t80", 8);
	lim_log_append(&lm, "\xff bytes", 7);
	o.log = lm.log;
	msg_result_pack(&sb, req.id, &o);
	put_frame("result-ok", &sb);
	o.kind = MB_RUNTIME;
	snprintf(o.message, sizeof o.message, "payments/fraud.lua:3: boom");
	o.counted = 0;
	msg_result_pack(&sb, req.id, &o);
	put_frame("result-runtime", &sb);
	msgpack_sbuffer_destroy(&o.result);
	lim_log_free(&lm);

	msg_ready_pack(&sb);
	put_frame("ready", &sb);
	msg_failed_pack(&sb, "seccomp: cannot load the filter");
	put_frame("failed", &sb);
	sp.worker = 3;
	snprintf(sp.pool, sizeof sp.pool, "payments");
	sp.uid = 65534;
	sp.gid = 65534;
	snprintf(sp.chroot, sizeof sp.chroot, "/tmp/moonboxd-empty-abc123");
	sp.address_space = 1u << 30;
	sp.cpu_seconds = 3600;
	msg_spawn_pack(&sb, &sp);
	put_frame("spawn", &sb);
	msg_spawned_pack(&sb, 3, 4242);
	put_frame("spawned", &sb);
	msg_spawn_failed_pack(&sb, 3, "fork: Resource temporarily unavailable");
	put_frame("spawn-failed", &sb);
	msg_attach_pack(&sb, 3, "payments");
	put_frame("attach", &sb);
	bb.worker = 3;
	snprintf(bb.invocation, sizeof bb.invocation, "0123456789abcdef");
	snprintf(bb.rule, sizeof bb.rule, "payments/fraud");
	bb.calls = 100;
	bb.deadline_ms = 200;
	msg_br_begin_pack(&sb, &bb);
	put_frame("br-begin", &sb);
	msg_br_end_pack(&sb, 3, "0123456789abcdef");
	put_frame("br-end", &sb);
	msg_br_reload_pack(&sb);
	put_frame("br-reload", &sb);
	msg_violation_pack(&sb, 3, "a call outside an invocation");
	put_frame("violation", &sb);
	msg_reloaded_pack(&sb, 1, "reloaded /etc/moonbox/policy.conf");
	put_frame("reloaded", &sb);

	msg_cap_call_begin(&sb, &pk, 1, "kv", "set", 2);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pstr(&pk, "payments:cache:42");
	pack_event(&pk);
	msg_finish(&sb);
	put_frame("cap-call-kv", &sb);
	msg_cap_call_begin(&sb, &pk, 2, "http", "request", 1);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pstr(&pk, "method");
	pstr(&pk, "POST");
	pstr(&pk, "url");
	pstr(&pk, "https://api.stripe.com/v1/charges");
	msg_finish(&sb);
	put_frame("cap-call-http", &sb);
	msg_cap_reply_begin(&sb, &pk, 1, MB_OK, "");
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_event(&pk);
	msg_finish(&sb);
	put_frame("cap-reply-ok", &sb);
	msg_cap_reply_begin(&sb, &pk, 2, MB_DENIED, "http.request: no allow "
	    "statement matches");
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_nil(&pk);
	msg_finish(&sb);
	put_frame("cap-reply-denied", &sb);
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&ev);
}

/* Values for conv.c, and as msgpack (after 0x80) for jsonmp.c. */
static void
put_value(const char *name, const msgpack_sbuffer *sb)
{
	char *p = malloc(sb->size + 1);

	put("conv", name, sb->data, sb->size);
	p[0] = (char)0x80;
	memcpy(p + 1, sb->data, sb->size);
	put("json", name, p, sb->size + 1);
	free(p);
}

static void
gen_values(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_event(&pk);
	put_value("event", &sb);

	msgpack_sbuffer_clear(&sb);
	msgpack_pack_array(&pk, 12);
	msgpack_pack_array(&pk, 0);		/* the empty array */
	msgpack_pack_map(&pk, 0);
	msgpack_pack_double(&pk, -0.0);
	msgpack_pack_float(&pk, 0.1f);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_int64(&pk, INT64_MAX);
	msgpack_pack_double(&pk, 9007199254740993.0);
	pstr(&pk, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x8c\x99");
	msgpack_pack_bin(&pk, 3);
	msgpack_pack_bin_body(&pk, "a\0b", 3);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_false(&pk);
	put_value("scalars", &sb);

	msgpack_sbuffer_clear(&sb);		/* integer keys 1..3: an array */
	msgpack_pack_map(&pk, 3);
	for (int i = 1; i <= 3; i++) {
		msgpack_pack_int(&pk, i);
		msgpack_pack_int(&pk, i * 10);
	}
	put_value("int-keys", &sb);

	msgpack_sbuffer_clear(&sb);		/* 1 and "1": one JSON key */
	msgpack_pack_map(&pk, 2);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 1);
	pstr(&pk, "1");
	msgpack_pack_int(&pk, 2);
	put_value("int-and-string-key", &sb);

	msgpack_sbuffer_clear(&sb);		/* 64 levels, the most */
	for (int i = 0; i < 63; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	pstr(&pk, "deep");
	msgpack_pack_nil(&pk);
	put_value("deep", &sb);

	msgpack_sbuffer_clear(&sb);
	msgpack_pack_uint64(&pk, UINT64_MAX);	/* out of range */
	put_value("uint64", &sb);
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_ext(&pk, 2, 1);
	msgpack_pack_ext_body(&pk, "\x01\x02", 2);
	put_value("ext", &sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
put_text(const char *harness, const char *name, const char *text,
    int prefix)
{
	size_t n = strlen(text);
	char *p = malloc(n + 1);

	p[0] = 0;
	memcpy(p + 1, text, n);
	put(harness, name, prefix ? p : p + 1, prefix ? n + 1 : n);
	free(p);
}

static void
gen_text(void)
{
	put_text("json", "text-event", "{\"amount\": 1500, \"currency\": "
	    "\"EUR\", \"items\": [{\"sku\": \"A-1\", \"price\": 12.5}, {}], "
	    "\"card\": null, \"ok\": true}", 1);
	put_text("json", "text-numbers", "[0, -0.0, 1e300, 0.1, "
	    "9223372036854775807, -9223372036854775808, 2.5e-308, 1.0]", 1);
	put_text("json", "text-strings", "[\"\\u00e9\\ud83c\\udf19\", "
	    "\"a\\u0000b\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\"]", 1);
	put_text("json", "text-dup-keys", "{\"a\": 1, \"a\": 2, \"b\": "
	    "{\"c\": [[], {}]}}", 1);
	put_text("policy", "two-pools", "pool payments {\n\trules "
	    "\"payments/*\"\n\tworkers 2 8\n\tqueue 32\n\ttimeout 200ms\n"
	    "\tinstructions 5000000\n}\npool default {\n\trules \"**\"\n"
	    "\tworkers 1 4\n}\n", 0);
	put_text("policy", "rule-block", "pool default { rules \"**\"; "
	    "workers 1 1 }\nrule \"payments/*\" {\n\tallow http GET POST "
	    "\"https://api.example.com/v1/*\"\n\tallow kv read write "
	    "\"payments:\"\n\tallow secret \"stripe\"\n\tallow log rate 10 "
	    "per 1s\n\tquota http 3 per invocation\n\tquota calls 100 per "
	    "1m\n}\n", 0);
	put_text("policy", "private", "pool p {\n\trules \"**\"\n}\nrule "
	    "\"**\" {\n\tallow http GET \"http://127.0.0.1:8080/*\"\n"
	    "\tallow http PUT \"https://*.corp.example:*/api/*\" private\n}\n",
	    0);
	put_text("policy", "limits", "pool p {\n\trules \"a/**\" \"b\"\n"
	    "\tmemory 16M\n\toutput 64K\n\tlog 1K\n\tcalls 10\n\trecycle 100\n"
	    "\tgrace 50ms\n\tidle 30s\n\tworker-cpu 60s\n\taddress-space 1G\n"
	    "\tquota calls 10 per 1h # comment\n}\n", 0);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-corpus DIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	gen_rpc();
	gen_msg();
	gen_values();
	gen_text();
	return 0;
}
