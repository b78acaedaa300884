/*
 * fuzz-json.c: JSON text as moonbox reads it (jmp_from_json: the CLI's
 * --input, the HTTP API) and msgpack values as it writes them as JSON
 * (jmp_to_json: results, json.encode). The first byte says which: below
 * 0x80 the rest is JSON text, else it is one msgpack value. Every text
 * jmp_to_json writes is valid UTF-8 and reads back; from then on the round
 * trip is exact: the text read and written again is the same text, and the
 * values agree by meaning.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jsonmp.h"
#include "sandbox.h"
#include "utf8.h"

/* Text that jmp_to_json wrote: it reads back, and writes the same. */
static void
fuzz_written(const char *text, const char *mp, size_t mplen, int exact)
{
	msgpack_sbuffer sb;
	char err[256], *again;

	FUZZ_ASSERT(utf8_valid(text, strlen(text)), "written JSON is not "
	    "UTF-8");
	msgpack_sbuffer_init(&sb);
	FUZZ_ASSERT(jmp_from_json(text, strlen(text), &sb, err,
	    sizeof err) == 0, "written JSON does not read back: %s: %s", err,
	    text);
	if (exact)
		FUZZ_ASSERT(fuzz_mp_equal(mp, mplen, sb.data, sb.size),
		    "JSON read back means another value: %s", text);
	again = jmp_to_json(sb.data, sb.size, err, sizeof err);
	FUZZ_ASSERT(again != NULL, "a value read from our JSON does not "
	    "write: %s: %s", err, text);
	FUZZ_ASSERT(strcmp(again, text) == 0, "JSON written twice differs: "
	    "%s, then %s", text, again);
	free(again);
	msgpack_sbuffer_destroy(&sb);
}

static void
fuzz_from_json(const char *text, size_t n)
{
	msgpack_sbuffer sb;
	char err[256], *out;

	msgpack_sbuffer_init(&sb);
	if (jmp_from_json(text, n, &sb, err, sizeof err) < 0) {
		FUZZ_ASSERT(utf8_valid(err, strlen(err)), "error not UTF-8");
		msgpack_sbuffer_destroy(&sb);
		return;
	}
	out = jmp_to_json(sb.data, sb.size, err, sizeof err);
	/* Read from JSON, every value has a JSON form again. */
	FUZZ_ASSERT(out != NULL, "a value read from JSON does not write: %s",
	    err);
	fuzz_written(out, sb.data, sb.size, 1);
	free(out);
	msgpack_sbuffer_destroy(&sb);
}

/* From msgpack, values change on the way (binary and extension types are
 * refused, integer keys become strings, float 32 becomes a double): only
 * the text is compared. */
static void
fuzz_from_msgpack(const char *mp, size_t n)
{
	char err[256], *out;

	if ((out = jmp_to_json(mp, n, err, sizeof err)) == NULL) {
		FUZZ_ASSERT(utf8_valid(err, strlen(err)), "error not UTF-8");
		return;
	}
	fuzz_written(out, mp, n, 0);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] < 0x80)
		fuzz_from_json((const char *)data + 1, size - 1);
	else
		fuzz_from_msgpack((const char *)data + 1, size - 1);
	return 0;
}

int LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	/* jansson through the counting allocator, as in a worker. */
	FUZZ_ASSERT(sbx_init() == 0, "sbx_init");
	return 0;
}
