/*
 * unit-record.c: recordings (record.c) as the daemon makes them and replay
 * reads them: every kind of value survives the file unchanged (integers
 * and reals apart, bytes that are not UTF-8, NaN, big unsigned integers,
 * maps with integer keys, maps that look like tags), the file is written
 * atomically with mode 0600 and reads back to the same text, secrets are
 * redacted everywhere but the source (also from calls added later, longest
 * value first, twice changes nothing) and can be put back, and files that
 * are not exactly a recording are refused with a message saying where.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <msgpack.h>

#include "record.h"
#include "tap.h"

static char tmpdir[] = "/tmp/unit-record-XXXXXX";

/* msgpack values built with a packer: one value per buffer. */
struct mp {
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
};

static void
mp_init(struct mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void
mp_str(struct mp *m, const char *s)
{
	msgpack_pack_str_with_body(&m->pk, s, strlen(s));
}

/* An input holding one of everything. */
static void
pack_input(struct mp *m)
{
	static const char bytes[] = "\xff\xfe\x00z";

	msgpack_pack_map(&m->pk, 11);
	mp_str(m, "int"), msgpack_pack_int64(&m->pk, -42);
	mp_str(m, "real"), msgpack_pack_double(&m->pk, 1.0);
	mp_str(m, "tenth"), msgpack_pack_double(&m->pk, 0.1);
	mp_str(m, "nan"), msgpack_pack_double(&m->pk, NAN);
	mp_str(m, "big"), msgpack_pack_uint64(&m->pk, UINT64_MAX);
	mp_str(m, "bytes"), msgpack_pack_bin_with_body(&m->pk, bytes, 4);
	mp_str(m, "nul"), msgpack_pack_str_with_body(&m->pk, "a\0b", 3);
	mp_str(m, "empty"), msgpack_pack_array(&m->pk, 0);
	mp_str(m, "sparse"), msgpack_pack_map(&m->pk, 2);
	msgpack_pack_int64(&m->pk, 5), mp_str(m, "five");
	msgpack_pack_int64(&m->pk, 1), mp_str(m, "one");
	mp_str(m, "tagish"), msgpack_pack_map(&m->pk, 1);
	mp_str(m, "$base64"), msgpack_pack_true(&m->pk);
	mp_str(m, "list"), msgpack_pack_array(&m->pk, 3);
	msgpack_pack_nil(&m->pk), msgpack_pack_false(&m->pk);
	mp_str(m, "\xc3\xa9t\xc3\xa9");
}

static struct recording *
make_recording(void)
{
	struct lim_config l;
	struct mp in, args, val;
	struct recording *rec;
	const char *src = "return function(e)\n\treturn e\nend\n";

	lim_defaults(&l);
	l.instructions = 5000;
	mp_init(&in), mp_init(&args), mp_init(&val);
	pack_input(&in);
	rec = rec_new("payments/fraud", src, strlen(src), in.sb.data,
	    in.sb.size, &l, "inv-1", "payments");
	mp_str(&args, "payments:a");
	msgpack_pack_int64(&val.pk, 7);
	ok(rec != NULL, "rec_new makes a recording");
	ok(rec_add_call(rec, "kv", "get", args.sb.data, args.sb.size, MB_OK,
	    "", val.sb.data, val.sb.size) == 0, "rec_add_call takes a call");
	ok(rec_add_call(rec, "time", "now", NULL, 0, MB_DENIED,
	    "time is not allowed", NULL, 0) == 0,
	    "rec_add_call takes a call without arguments that was denied");
	rec_set_seed(rec, (const int64_t[2]){ -1, 123456789 });
	msgpack_sbuffer_destroy(&in.sb);
	msgpack_sbuffer_destroy(&args.sb);
	msgpack_sbuffer_destroy(&val.sb);
	return rec;
}

static void
set_outcome(struct recording *rec, const char *result_text)
{
	struct inv_outcome o;
	struct lim m = { 0 };

	inv_outcome_init(&o);
	msgpack_pack_str_with_body(&(msgpack_packer){ &o.result,
	    msgpack_sbuffer_write }, result_text, strlen(result_text));
	m.cfg.log = 1 << 20;
	lim_log_append(&m, "[info] hello", 12);
	lim_log_append(&m, "bin\xff", 4);
	o.log = m.log;
	o.counted = 1;
	o.instructions = 1234;
	o.memory = 40000;
	o.calls = 2;
	o.wall_ms = 1.5;
	ok(rec_set_outcome(rec, &o) == 0, "rec_set_outcome takes an outcome");
	inv_outcome_free(&o);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);

	if (f != NULL && buf != NULL)
		buf[fread(buf, 1, (1 << 20) - 1, f)] = '\0';
	if (f != NULL)
		fclose(f);
	return buf;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static void
test_round_trip(void)
{
	char path[128], err[512];
	struct recording *rec = make_recording(), *back = NULL;
	char *first, *second, *text;
	struct stat st;

	set_outcome(rec, "ok \xe2\x9c\x93");
	snprintf(path, sizeof path, "%s/a.json", tmpdir);
	ok(rec_write(rec, path, err, sizeof err) == 0, "rec_write writes it") ? (void)0 : diag("%s", err);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the file has mode 0600");
	ok(rec_read(path, &back, err, sizeof err) == 0, "rec_read reads it "
	    "back") ? (void)0 : diag("%s", err);
	if (back == NULL)
		return;
	first = rec_dump(rec);
	second = rec_dump(back);
	text = slurp(path);
	is_str(second, first, "read back, it dumps to the same text");
	is_str(text, first, "the file holds that text");
	ok(rec_value_equal(rec->input, back->input), "the input is equal");
	is_str(back->rule, "payments/fraud", "the rule name");
	is_str(back->pool, "payments", "the pool");
	is_str(back->invocation, "inv-1", "the invocation id");
	is_int(back->srclen, rec->srclen, "the source length");
	ok(memcmp(back->source, rec->source, rec->srclen) == 0,
	    "the source bytes");
	is_int(back->limits.instructions, 5000, "the limits");
	ok(back->has_seed && back->seed[0] == -1 && back->seed[1] == 123456789,
	    "the seed, negative numbers too");
	is_int(back->ncalls, 2, "both calls");
	is_str(back->calls[1].reply_message, "time is not allowed",
	    "a refused call keeps its message");
	is_int(back->calls[1].reply_kind, MB_DENIED, "and its kind");
	ok(back->outcome.counted && back->outcome.instructions == 1234,
	    "the usage");
	is_int(json_array_size(back->outcome.log), 2, "the log lines");
	ok(strstr(first, "\"real\": 1.0") != NULL && strstr(first,
	    "\"int\": -42") != NULL, "integers and reals stay apart") ? (void)0 : diag("%s", first);
	ok(strstr(first, "\"tenth\": 0.1,") != NULL,
	    "a real has its fewest digits");
	ok(strstr(first, "{\"$float\": \"nan\"}") != NULL, "NaN is tagged") ? (void)0 : diag("%s", first);
	ok(strstr(first, "{\"$uint\": \"18446744073709551615\"}") != NULL,
	    "an integer above INT64_MAX is tagged");
	ok(strstr(first, "\"bytes\": {\"$base64\": \"//4Aeg==\"}") != NULL,
	    "bytes that are not UTF-8 are base64");
	ok(strstr(first, "\"nul\": \"a\\u0000b\"") != NULL,
	    "a NUL byte in a string is kept");
	ok(strstr(first, "{\"$map\": [[1, \"one\"], [5, \"five\"]]}") != NULL,
	    "a map with integer keys is $map, in key order");
	ok(strstr(first, "{\"$map\": [[\"$base64\", true]]}") != NULL,
	    "a map that would read as a tag is $map");
	ok(strstr(first, "\"empty\": []") != NULL, "an empty array");
	ok(strstr(first, "\"source\": [\n    \"return function(e)\",\n"
	    "    \"\\treturn e\",\n    \"end\",\n    \"\"\n  ]") != NULL,
	    "the source is written one line a string");
	ok(access(path, F_OK) == 0 && rec_write(rec, path, err, sizeof err) == 0,
	    "rec_write replaces a file");
	ok(count_entries(tmpdir) == 1, "no temporary file is left beside it");
	ok(rec_write(rec, "/nonexistent/dir/r.json", err, sizeof err) < 0 &&
	    strstr(err, "/nonexistent/dir/r.json: cannot create") != NULL,
	    "a file that cannot be made is an error naming it") ? (void)0 :
	    diag("%s", err);
	free(first), free(second), free(text);
	rec_free(rec);
	rec_free(back);
}

static void
test_values(void)
{
	struct mp in, out;
	char err[128];
	json_t *j;

	mp_init(&in), mp_init(&out);
	pack_input(&in);
	j = rec_value(in.sb.data, in.sb.size, err, sizeof err);
	ok(j != NULL && rec_value_pack(j, &out.pk) == 0,
	    "a value goes to a tree and back");
	json_decref(j);
	j = rec_value(out.sb.data, out.sb.size, err, sizeof err);
	ok(j != NULL, "and reads again");
	json_decref(j);
	ok(rec_value("\x92\x01", 2, err, sizeof err) == NULL,
	    "a value cut short is refused");
	ok(rec_value("\x01\x01", 2, err, sizeof err) == NULL,
	    "bytes left over are refused");
	ok(rec_value(NULL, 0, err, sizeof err) != NULL, "no bytes is nil");
	msgpack_sbuffer_destroy(&in.sb);
	msgpack_sbuffer_destroy(&out.sb);
}

/* The text of a recording with a secret given to it in many places. */
static char *
secret_text(struct recording **out, int redact_first)
{
	struct mp a, v, w;
	struct recording *rec = make_recording();
	char *text;

	if (redact_first)
		rec_redact(rec, "stripe_key", "sk_live_123");
	mp_init(&a), mp_init(&v), mp_init(&w);
	mp_str(&a, "stripe_key");
	mp_str(&v, "sk_live_123");
	msgpack_pack_map(&w.pk, 1);
	mp_str(&w, "Authorization"), mp_str(&w, "Bearer sk_live_123");
	rec_add_call(rec, "secret", "get", a.sb.data, a.sb.size, MB_OK, "",
	    v.sb.data, v.sb.size);
	rec_add_call(rec, "http", "request", w.sb.data, w.sb.size, MB_RUNTIME,
	    "refused sk_live_123", NULL, 0);
	set_outcome(rec, "the key is sk_live_123");
	if (!redact_first)
		rec_redact(rec, "stripe_key", "sk_live_123");
	text = rec_dump(rec);
	msgpack_sbuffer_destroy(&a.sb);
	msgpack_sbuffer_destroy(&v.sb);
	msgpack_sbuffer_destroy(&w.sb);
	*out = rec;
	return text;
}

static void
test_redaction(void)
{
	struct recording *rec;
	char *text, *again;
	struct rec_secrets s = { .n = 0 };
	size_t n;

	for (int first = 0; first < 2; first++) {
		const char *when = first ? "given before the calls" :
		    "given after the calls";

		text = secret_text(&rec, first);
		ok(text != NULL && strstr(text, "sk_live") == NULL,
		    "a secret %s appears nowhere in the file", when);
		ok(strstr(text, "\"value\": \"[redacted:stripe_key]\"") != NULL,
		    "secrets.get's reply is the placeholder (%s)", when);
		ok(strstr(text, "\"Bearer [redacted:stripe_key]\"") != NULL,
		    "a secret inside an argument is replaced (%s)", when);
		ok(strstr(text, "\"refused [redacted:stripe_key]\"") != NULL,
		    "and inside a reply's message (%s)", when);
		ok(strstr(text, "\"the key is [redacted:stripe_key]\"") != NULL,
		    "and in the result (%s)", when);
		ok(strstr(text, "\"redacted\": [\"stripe_key\"]") != NULL,
		    "the file names the secret (%s)", when);
		rec_redact(rec, "stripe_key", "sk_live_123");
		again = rec_dump(rec);
		is_str(again, text, "redacting twice changes nothing (%s)", when);
		free(again);
		free(text);
		rec_free(rec);
	}
	rec_secrets_add(&s, "short", "abc", 3);
	rec_secrets_add(&s, "long", "abc123", 6);
	text = rec_secrets_text(&s, REC_REDACT, "x abc123 abc", 12, &n);
	is_str(text, "x [redacted:long] [redacted:short]",
	    "the longest value is replaced first");
	again = rec_secrets_text(&s, REC_REVEAL, text, strlen(text), &n);
	is_str(again, "x abc123 abc", "placeholders are put back");
	free(text), free(again);
	rec_secrets_free(&s);
	rec_secrets_add(&s, "r", "red", 3);
	text = rec_secrets_text(&s, REC_REDACT, "[redacted:other] red", 20, &n);
	is_str(text, "[redacted:other] [redacted:r]",
	    "a value inside an existing placeholder is left alone");
	free(text);
	rec_secrets_free(&s);
}

/* A minimal valid file with one member replaced by the text of a JSON
 * member list (or the whole text when whole is set). */
static const char good[] =
    "{\"moonbox\": \"recording\", \"version\": 1, \"rule\": \"a/b\", "
    "\"pool\": \"default\", \"invocation\": \"i\", "
    "\"recorded\": \"2024-01-01T00:00:00Z\", "
    "\"limits\": {\"memory\": 8388608, \"instructions\": 0, "
    "\"timeout_us\": 1000000, \"output\": 65536, \"log\": 65536, "
    "\"calls\": 100}, \"redacted\": [], \"input\": null, "
    "\"calls\": [%s], \"outcome\": {\"kind\": \"ok\", \"message\": \"\", "
    "\"value\": %s, \"log\": [], \"log_dropped\": 0, \"usage\": "
    "{\"instructions\": null, \"memory\": 1, \"cpu_ms\": 0, "
    "\"wall_ms\": 0.5, \"calls\": 0}}, \"source\": [\"return 1\"]%s}";

static const struct {
	const char	*calls, *value, *extra;
	const char	*why;		/* in the message */
	const char	*what;		/* the test's name */
} bad_files[] = {
	{ "", "1", ", \"extra\": 1", "unknown member \"extra\"",
	    "an unknown member" },
	{ "", "{\"$bogus\": 1}", "", "unknown tag $bogus",
	    "an unknown tag" },
	{ "", "{\"$base64\": \"abc\"}", "", "outcome.value: $base64 is not",
	    "bad base64" },
	{ "", "{\"$uint\": \"-1\"}", "", "$uint is a string of decimal",
	    "a negative $uint" },
	{ "", "{\"$float\": \"big\"}", "", "$float is",
	    "a $float that is no float" },
	{ "{\"capability\": \"fs\", \"method\": \"open\", \"args\": [], "
	    "\"reply\": {\"kind\": \"ok\", \"message\": \"\", \"value\": null}}",
	    "1", "", "calls[0]: unknown capability \"fs\"",
	    "an unknown capability" },
	{ "{\"capability\": \"kv\", \"method\": \"get\", \"args\": [], "
	    "\"reply\": {\"kind\": \"nope\", \"message\": \"\", \"value\": 1}}",
	    "1", "", "calls[0].reply: \"kind\" must be an error kind",
	    "an unknown error kind" },
	{ "{\"capability\": \"kv\", \"method\": \"get\", \"args\": [], "
	    "\"reply\": {\"kind\": \"denied\", \"message\": \"\", \"value\": 1}}",
	    "1", "", "\"value\" must be null unless",
	    "a value in a refused reply" },
	{ "{\"capability\": \"kv\", \"method\": \"get\", \"args\": {}, "
	    "\"reply\": {\"kind\": \"ok\", \"message\": \"\", \"value\": 1}}",
	    "1", "", "calls[0]: \"args\" must be an array",
	    "arguments that are no array" },
	{ "{\"capability\": \"kv\", \"method\": \"get\", \"args\": [], "
	    "\"reply\": {\"kind\": \"ok\", \"value\": 1}}",
	    "1", "", "calls[0].reply: \"message\" is missing",
	    "a reply without its message" },
	{ "{\"capability\": \"kv\", \"method\": \"get\", \"args\": [], "
	    "\"reply\": {\"kind\": \"ok\", \"message\": \"a\\u0000\", "
	    "\"value\": 1}}", "1", "", "holds a NUL byte",
	    "a NUL byte in a message" },
	{ "", "1", ", \"seed\": [1]", "seed: expected two integers",
	    "a seed of one number" },
};

static void
test_bad_file(const char *text, const char *why, const char *what)
{
	struct recording *rec = NULL;
	char err[512] = "";

	ok(rec_parse(text, strlen(text), "f.json", &rec, err, sizeof err) < 0 &&
	    rec == NULL && strstr(err, why) != NULL &&
	    strncmp(err, "f.json:", 7) == 0,
	    "a file with %s is refused, saying so", what) ? (void)0 : diag("message: %s", err);
	rec_free(rec);
}

static void
test_strict(void)
{
	char text[4096], err[512];
	struct recording *rec = NULL;

	snprintf(text, sizeof text, good, "", "1", "");
	ok(rec_parse(text, strlen(text), "f.json", &rec, err, sizeof err) == 0,
	    "a minimal recording is read") ? (void)0 : diag("%s", err);
	rec_free(rec);
	for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
		snprintf(text, sizeof text, good, bad_files[i].calls,
		    bad_files[i].value, bad_files[i].extra);
		test_bad_file(text, bad_files[i].why, bad_files[i].what);
	}
	test_bad_file("{\"a\": 1", "f.json:1:", "text that is not JSON");
	test_bad_file("[1]", "not a moonbox recording", "an array");
	test_bad_file("{\"moonbox\": \"recording\", \"version\": 2}",
	    "a recording of version 2; this moonbox reads version 1",
	    "a newer version");
	test_bad_file("{\"moonbox\": \"recording\", \"version\": 1, "
	    "\"version\": 1}", "duplicate", "a member twice");
	snprintf(text, sizeof text, good, "", "1", "");
	strcat(text, " x");
	test_bad_file(text, "not valid JSON", "text after the recording");
	snprintf(text, sizeof text, good, "", "1", "");
	memcpy(strstr(text, "8388608"), "0      ", 7);
	test_bad_file(text, "limits: \"memory\" must be", "a memory limit of 0");
	snprintf(text, sizeof text, good, "", "1", "");
	memcpy(strstr(text, "\"a/b\""), "\"\"   ", 5);
	test_bad_file(text, "rule: expected a rule name", "an empty rule name");
	ok(rec_read("/nonexistent/r.json", &rec, err, sizeof err) < 0 &&
	    strstr(err, "No such file") != NULL,
	    "a missing file is refused with the system's reason");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_values();
	test_round_trip();
	test_redaction();
	test_strict();
	{
		char cmd[64];

		snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
		ok(system(cmd) == 0, "the temporary directory is removed");
	}
	return done_testing();
}
