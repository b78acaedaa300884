/*
 * unit-conv.c: values between Lua, msgpack and JSON (conv.c, jsonmp.c) and
 * the strict msgpack reader under them (mpr.c).
 *
 * What survives a round trip survives it exactly (integer vs float, -0.0,
 * 2^53, the empty array); every value that cannot convert is refused with
 * a message naming where it is; nesting is at most 64 containers in every
 * direction; and the reader refuses every malformed or incomplete byte
 * string, the incremental scanner agreeing with a whole-buffer scan.
 *
 * The Lua side is a real sandbox state (sbx_new), as rules see it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "conv.h"
#include "utf8.h"
#include "jsonmp.h"
#include "limit.h"
#include "mpr.h"
#include "sandbox.h"
#include "tap.h"

#define DEPTH	LIM_MAX_DEPTH		/* 64 */

static lua_State *L;
static struct lim lim;

/* Helpers: hex text, Lua snippets, msgpack buffers. */

static char hexbuf[8192];

static const char *
hex(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < sizeof hexbuf; i++)
		snprintf(hexbuf + 2 * i, 3, "%02x", b[i]);
	hexbuf[2 * i] = '\0';
	return hexbuf;
}

/* Bytes from hex text; spaces are ignored. Returns the length. */
static size_t
unhex(const char *h, unsigned char *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	for (; *h != '\0'; h++) {
		if (*h == ' ')
			continue;
		if (sscanf(h, "%2x", &v) != 1 || n == max)
			abort();
		out[n++] = (unsigned char)v;
		h++;
	}
	return n;
}

/* Evaluate a Lua expression in the sandbox and leave its value on top. */
static void
push_lua(const char *expr)
{
	char chunk[4096];

	snprintf(chunk, sizeof chunk, "return %s", expr);
	if (luaL_loadstring(L, chunk) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
		diag("Lua error in '%s': %s", expr, lua_tostring(L, -1));
		abort();
	}
}

/* Call the Lua function `src` (an expression) on the value on top (popped);
 * return the string it returns. */
static const char *
ask_lua(const char *src)
{
	static char answer[512];

	push_lua(src);
	lua_insert(L, -2);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		snprintf(answer, sizeof answer, "error: %s", lua_tostring(L, -1));
	} else {
		snprintf(answer, sizeof answer, "%s", luaL_tolstring(L, -1, NULL));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return answer;
}

/* Pack a Lua expression's value; returns conv_pack's status. */
static int
pack_lua(const char *expr, size_t limit, msgpack_sbuffer *sb,
    struct conv_error *err)
{
	int top = lua_gettop(L), r;

	msgpack_sbuffer_clear(sb);
	push_lua(expr);
	r = conv_pack(L, -1, "result", limit, sb, err);
	ok(lua_gettop(L) == top + 1, "packing %.40s leaves the stack as it was",
	    expr);
	lua_settop(L, top);
	return r;
}

/* A JSON text of n nested arrays (or objects {"a": …}) around the text
 * `in`; an empty `in` makes the innermost container empty. */
static char *
nested_json(int n, int objects, const char *in)
{
	size_t len, per = objects ? 5 : 1;
	char *s, *p;

	if (*in == '\0')
		in = objects ? "{}" : "[]", n--;
	len = strlen(in);
	s = p = malloc(2 * per * (size_t)n + len + 1);
	for (int i = 0; i < n; i++) {
		memcpy(p, objects ? "{\"a\":" : "[", per);
		p += per;
	}
	memcpy(p, in, len);
	p += len;
	for (int i = 0; i < n; i++)
		*p++ = objects ? '}' : ']';
	*p = '\0';
	return s;
}

/* msgpack of n nested one-element arrays (or maps {"a": …}) around the bytes
 * `in`; an empty `in` makes the innermost container empty. */
static size_t
nested_mp(int n, int maps, const unsigned char *in, size_t inlen,
    unsigned char *out)
{
	size_t k = 0;

	for (int i = 0; i < n; i++) {
		int last = i == n - 1 && inlen == 0;

		if (maps) {
			out[k++] = last ? 0x80 : 0x81;
			if (!last)
				out[k++] = 0xa1, out[k++] = 'a';
		} else
			out[k++] = last ? 0x90 : 0x91;
	}
	memcpy(out + k, in, inlen);
	return k + inlen;
}

/*
 * 1. Lua -> msgpack: exact bytes, and back to Lua and to msgpack again.
 */
static const struct {
	const char	*lua;
	const char	*mp;		/* hex */
	const char	*json;		/* as jmp_to_json prints it */
} exact[] = {
	{ "nil",		"c0",			"null" },
	{ "json.null",		"c0",			"null" },
	{ "true",		"c3",			"true" },
	{ "false",		"c2",			"false" },
	{ "0",			"00",			"0" },
	{ "1",			"01",			"1" },
	{ "-1",			"ff",			"-1" },
	{ "-32",		"e0",			"-32" },
	{ "-33",		"d0df",			"-33" },
	{ "127",		"7f",			"127" },
	{ "128",		"cc80",			"128" },
	{ "65536",		"ce00010000",		"65536" },
	{ "1.0",		"cb3ff0000000000000",	"1.0" },
	{ "-0.0",		"cb8000000000000000",	"-0.0" },
	{ "0.0",		"cb0000000000000000",	"0.0" },
	{ "0.1",		"cb3fb999999999999a",	"0.1" },
	{ "1.5",		"cb3ff8000000000000",	"1.5" },
	{ "2^53",		"cb4340000000000000",	"9007199254740992.0" },
	{ "math.tointeger(2^53)", "cf0020000000000000", "9007199254740992" },
	{ "9007199254740993",	"cf0020000000000001",	"9007199254740993" },
	{ "2^63",		"cb43e0000000000000",	"9.223372036854776e18" },
	{ "math.maxinteger",	"cf7fffffffffffffff",	"9223372036854775807" },
	{ "math.mininteger",	"d38000000000000000",	"-9223372036854775808" },
	{ "1e308",		"cb7fe1ccf385ebc8a0",	"1e308" },
	{ "1.7976931348623157e308", "cb7fefffffffffffff", "1.7976931348623157e308" },
	{ "-1.7976931348623157e308", "cbffefffffffffffff", "-1.7976931348623157e308" },
	{ "5e-324",		"cb0000000000000001",	"5e-324" },
	{ "2.2250738585072014e-308", "cb0010000000000000", "2.2250738585072014e-308" },
	{ "''",			"a0",			"\"\"" },
	{ "'x'",		"a178",			"\"x\"" },
	{ "'a\\0b'",		"a3610062",		"\"a\\u0000b\"" },
	{ "'\\u{e9}'",		"a2c3a9",		"\"\u00e9\"" },
	{ "'\\u{10FFFF}'",	"a4f48fbfbf",		"\"\U0010FFFF\"" },
	{ "{}",			"80",			"{}" },
	{ "json.array({})",	"90",			"[]" },
	{ "{1, 2, 3}",		"93010203",		"[1,2,3]" },
	{ "{1.0, 1}",		"92cb3ff000000000000001", "[1.0,1]" },
	{ "{a = 1}",		"81a16101",		"{\"a\":1}" },
	{ "{a = {}}",		"81a16180",		"{\"a\":{}}" },
	{ "{a = json.array({})}", "81a16190",		"{\"a\":[]}" },
	{ "{json.null, 1}",	"92c001",		"[null,1]" },
	{ "{[1] = 'x'}",	"91a178",		"[\"x\"]" },
	{ "{[2] = 'x'}",	"8102a178",		"{\"2\":\"x\"}" },
	{ "{[-1] = 'x'}",	"81ffa178",		"{\"-1\":\"x\"}" },
	{ "setmetatable({}, {__index = {a = 1}})", "80",	"{}" },
	{ "string.rep('x', 32)", "d920" "7878787878787878787878787878787878787878787878787878787878787878",
	    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"" },
};

static void
test_exact(void)
{
	msgpack_sbuffer sb, sb2;
	struct conv_error err;

	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_init(&sb2);
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
		char jerr[256];
		char *text;

		is_int(pack_lua(exact[i].lua, 0, &sb, &err), 0,
		    "%s converts to msgpack", exact[i].lua);
		is_str(hex(sb.data, sb.size), exact[i].mp,
		    "%s packs as %s", exact[i].lua, exact[i].mp);
		text = jmp_to_json(sb.data, sb.size, jerr, sizeof jerr);
		is_str(text, exact[i].json, "%s prints as %s", exact[i].lua,
		    exact[i].json);
		free(text);
		/* Back into Lua and out again: the same bytes. */
		is_int(conv_push(L, sb.data, sb.size, &err), 0,
		    "%s converts back to Lua", exact[i].lua);
		msgpack_sbuffer_clear(&sb2);
		is_int(conv_pack(L, -1, "result", 0, &sb2, &err), 0,
		    "%s converts to msgpack a second time", exact[i].lua);
		lua_pop(L, 1);
		ok(sb.size == sb2.size && memcmp(sb.data, sb2.data, sb.size) == 0,
		    "%s survives msgpack -> Lua -> msgpack byte for byte",
		    exact[i].lua);
		/* From its JSON text: the same bytes, unless keys were
		 * integers (JSON has only string keys). */
		if (strstr(exact[i].lua, "[2]") || strstr(exact[i].lua, "[-1]"))
			continue;
		msgpack_sbuffer_clear(&sb2);
		is_int(jmp_from_json(exact[i].json, strlen(exact[i].json), &sb2,
		    jerr, sizeof jerr), 0, "%s parses as JSON", exact[i].json);
		is_str(hex(sb2.data, sb2.size), exact[i].mp,
		    "JSON %s packs as %s", exact[i].json, exact[i].mp);
	}
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&sb2);
}

/* What Lua sees of converted input: types, the array marker, json.null. */
static const struct {
	const char	*mp;
	const char	*check;		/* a Lua function of the value */
	const char	*want;
} seen[] = {
	{ "01", "math.type", "integer" },
	{ "cb3ff0000000000000", "math.type", "float" },
	{ "cb8000000000000000", "function(v) return 1/v end", "-inf" },
	{ "ca3fc00000", "function(v) return math.type(v) .. v end", "float1.5" },
	{ "cf7fffffffffffffff", "function(v) return v == math.maxinteger end", "true" },
	{ "d38000000000000000", "function(v) return v == math.mininteger end", "true" },
	{ "cc80", "function(v) return math.type(v) .. v end", "integer128" },
	{ "d0df", "function(v) return v end", "-33" },
	{ "c0", "function(v) return v == nil end", "true" },
	{ "91c0", "function(v) return v[1] == json.null end", "true" },
	{ "81a161c0", "function(v) return v.a == json.null end", "true" },
	{ "90", "function(v) return getmetatable(v) end", "json.array" },
	{ "90", "function(v) return #v end", "0" },
	{ "80", "function(v) return getmetatable(v) == nil end", "true" },
	{ "91 90", "function(v) return getmetatable(v[1]) end", "json.array" },
	{ "c403616263", "function(v) return v end", "abc" },	/* bin */
	{ "a3610062", "function(v) return #v end", "3" },
	{ "a1ff", "function(v) return #v .. v:byte() end", "1255" },
	{ "8201a16fa131a173", "function(v) return v[1] .. v['1'] end", "os" },
	{ "82a161 01 a161 02", "function(v) return v.a end", "2" },
};

static void
test_seen(void)
{
	unsigned char buf[256];
	struct conv_error err;

	for (size_t i = 0; i < sizeof seen / sizeof seen[0]; i++) {
		size_t n = unhex(seen[i].mp, buf, sizeof buf);

		if (!is_int(conv_push(L, (char *)buf, n, &err), 0,
		    "msgpack %s converts to Lua", seen[i].mp)) {
			diag("%s: %s", err.path, err.what);
			continue;
		}
		is_str(ask_lua(seen[i].check), seen[i].want,
		    "msgpack %s: %s is %s", seen[i].mp, seen[i].check,
		    seen[i].want);
	}
}

/* JSON documents that come back as the same text through Lua. */
static const char *const json_docs[] = {
	"null", "true", "1", "1.0", "-0.0", "0.5", "1e300", "5e-324",
	"9007199254740992", "9007199254740992.0", "9223372036854775807",
	"-9223372036854775808", "\"\"", "\"\u00e9\u4e2d\U0001F600\"",
	"\"a\\u0000b\"", "\"\\\"\\\\\\n\\t\"", "[]", "{}", "[[]]", "[{}]",
	"{\"a\":[]}", "{\"a\":{}}", "[null,null]", "{\"a\":null}",
	"[1,1.0,2,2.5]", "{\"A\":4,\"a\":2,\"aa\":3,\"b\":1}",
	"{\"\":1,\"1\":2,\"x y\":3}",
	"{\"items\":[{\"id\":1,\"tags\":[\"x\"]},{\"id\":2,\"tags\":[]}]}",
	/* Each real with its own fewest digits, whatever its neighbours need. */
	"[0.1,0.30000000000000004,5e-324,9007199254740992.0,0.5,1e300]",
	"{\"a\":0.1,\"b\":[1.7976931348623157e308,{\"c\":2.5}]}",
};

static void
test_json_round_trips(void)
{
	msgpack_sbuffer sb, sb2;
	struct conv_error err;
	char jerr[256];

	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_init(&sb2);
	for (size_t i = 0; i < sizeof json_docs / sizeof json_docs[0]; i++) {
		const char *doc = json_docs[i];
		char *text;

		msgpack_sbuffer_clear(&sb);
		msgpack_sbuffer_clear(&sb2);
		if (!is_int(jmp_from_json(doc, strlen(doc), &sb, jerr,
		    sizeof jerr), 0, "JSON %s parses", doc))
			continue;
		is_int(conv_push(L, sb.data, sb.size, &err), 0,
		    "JSON %s converts to Lua", doc);
		is_int(conv_pack(L, -1, "result", 0, &sb2, &err), 0,
		    "JSON %s converts back from Lua", doc);
		lua_pop(L, 1);
		text = jmp_to_json(sb2.data, sb2.size, jerr, sizeof jerr);
		is_str(text, doc, "JSON %s survives JSON -> Lua -> JSON", doc);
		free(text);
	}
	/* Keys come out in byte order whatever order they went in. */
	msgpack_sbuffer_clear(&sb);
	{
		const char *doc = "{\"b\":1,\"aa\":3,\"a\":2,\"A\":4}";
		char *text;

		jmp_from_json(doc, strlen(doc), &sb, jerr, sizeof jerr);
		text = jmp_to_json(sb.data, sb.size, jerr, sizeof jerr);

		is_str(text, "{\"A\":4,\"a\":2,\"aa\":3,\"b\":1}",
		    "object keys print in byte order");
		free(text);
	}
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&sb2);
}

/*
 * 2. Every value Lua cannot send out, refused with its path.
 */
static const struct {
	const char	*lua;
	size_t		 limit;
	const char	*path;
	const char	*what;
} refused_out[] = {
	{ "(function() local t = {} t.self = t return {items = {1, 2, t}} end)()",
	    0, "result.items[3].self", "table contains itself (a cycle)" },
	{ "(function() local t = {} t[1] = t return t end)()",
	    0, "result[1]", "table contains itself (a cycle)" },
	{ "(function() local t = {} t.a = {b = {t}} return t end)()",
	    0, "result.a.b[1]", "table contains itself (a cycle)" },
	{ "{items = {1, 2, {f = print}}}", 0, "result.items[3].f",
	    "a function cannot be converted" },
	{ "print", 0, "result", "a function cannot be converted" },
	{ "{u = lpeg.P(1)}", 0, "result.u", "a userdata cannot be converted" },
	{ "{co = coroutine.create(print)}", 0, "result.co",
	    "a thread cannot be converted" },
	{ "{x = {0/0}}", 0, "result.x[1]", "NaN cannot be converted" },
	{ "0/0", 0, "result", "NaN cannot be converted" },
	{ "{1/0}", 0, "result[1]", "infinity cannot be converted" },
	{ "-math.huge", 0, "result", "infinity cannot be converted" },
	{ "{[true] = 1}", 0, "result[boolean]",
	    "a boolean key cannot be converted (keys are strings or integers)" },
	{ "{[1.5] = 1}", 0, "result[number]",
	    "a number key cannot be converted (keys are strings or integers)" },
	{ "{[{}] = 1}", 0, "result[table]",
	    "a table key cannot be converted (keys are strings or integers)" },
	{ "{[print] = 1}", 0, "result[function]",
	    "a function key cannot be converted (keys are strings or integers)" },
	{ "{[lpeg.P(1)] = 1}", 0, "result[userdata]",
	    "a userdata key cannot be converted (keys are strings or integers)" },
	{ "{s = '\\255'}", 0, "result.s",
	    "string is not valid UTF-8 (encode bytes with base64)" },
	{ "{'ok', '\\xc0\\x80'}", 0, "result[2]",
	    "string is not valid UTF-8 (encode bytes with base64)" },
	{ "{['\\255'] = 1}", 0, "result[\"?\"]", "key is not valid UTF-8" },
	{ "{['a b'] = {print}}", 0, "result[\"a b\"][1]",
	    "a function cannot be converted" },
	{ "{['1a'] = print}", 0, "result[\"1a\"]",
	    "a function cannot be converted" },
	{ "{_x9 = print}", 0, "result._x9", "a function cannot be converted" },
	{ "{[''] = print}", 0, "result[\"\"]", "a function cannot be converted" },
	{ "{[-7] = print}", 0, "result[-7]", "a function cannot be converted" },
	/* A long key is shown by its first 32 bytes, cut between characters. */
	{ "{['k' .. string.rep('\\u{e9}', 20)] = print}", 0,
	    "result[\"k\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
	    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\"]",
	    "a function cannot be converted" },
	{ "{string.rep('x', 100)}", 50, "result[1]",
	    "value is larger than the output limit of 50 bytes" },
	{ "string.rep('x', 100)", 102, NULL, NULL },	/* exactly fits */
	{ "string.rep('x', 100)", 101, "result",
	    "value is larger than the output limit of 101 bytes" },
	{ "{1, 2, 3}", 4, NULL, NULL },
	{ "{1, 2, 3}", 3, "result[3]",
	    "value is larger than the output limit of 3 bytes" },
};

static void
test_refused_out(void)
{
	msgpack_sbuffer sb;
	struct conv_error err;

	msgpack_sbuffer_init(&sb);
	for (size_t i = 0; i < sizeof refused_out / sizeof refused_out[0]; i++) {
		const char *lua = refused_out[i].lua;
		int r = pack_lua(lua, refused_out[i].limit, &sb, &err);

		if (refused_out[i].path == NULL) {
			is_int(r, 0, "%s fits in %zu bytes", lua,
			    refused_out[i].limit);
			continue;
		}
		is_int(r, -1, "%s is refused", lua);
		is_str(err.path, refused_out[i].path, "%s: the path is %s", lua,
		    refused_out[i].path);
		is_str(err.what, refused_out[i].what, "%s: %s", lua,
		    refused_out[i].what);
		ok(utf8_valid(err.path, strlen(err.path)),
		    "%s: the path is valid UTF-8", lua);
	}
	/* A light userdata other than json.null. */
	lua_newtable(L);
	lua_pushlightuserdata(L, &sb);
	lua_setfield(L, -2, "p");
	is_int(conv_pack(L, -1, "result", 0, &sb, &err), -1,
	    "a light userdata is refused");
	is_str(err.path, "result.p", "a light userdata: the path is result.p");
	is_str(err.what, "a userdata cannot be converted",
	    "a light userdata: a userdata cannot be converted");
	lua_pop(L, 1);
	/* A path longer than its buffer ends on a whole character. */
	push_lua("(function() local t, top = {}, nil top = t "
	    "for i = 1, 30 do local k = string.rep('\\u{e9}', 6) "
	    "t[k] = {} t = t[k] end t.f = print return top end)()");
	is_int(conv_pack(L, -1, "result", 0, &sb, &err), -1,
	    "a deep path of long keys is refused for its function");
	ok(utf8_valid(err.path, strlen(err.path)),
	    "a path cut at its buffer's end is still valid UTF-8");
	ok(strlen(err.path) > 200, "a path is kept up to its buffer's size");
	lua_pop(L, 1);
	msgpack_sbuffer_destroy(&sb);
}

/* In a sandbox, a value that packs to far more than it holds (a DAG) stops
 * at the memory limit, and any walk stops at the deadline. */
static void
test_sandbox_limits(void)
{
	msgpack_sbuffer sb;
	struct conv_error err;
	size_t memory = lim.cfg.memory;

	msgpack_sbuffer_init(&sb);
	lim.cfg.memory = lim.used + (1u << 20);
	push_lua("(function() local t = 1 for i = 1, 40 do t = {t, t} end "
	    "return t end)()");
	is_int(conv_pack(L, -1, "value", 0, &sb, &err), -1,
	    "2^40 shared leaves are refused when there is no output limit");
	ok(strstr(err.what, "memory limit") != NULL,
	    "... at the memory limit (%s)", err.what);
	ok(sb.size <= (1u << 20) + 16, "... before packing more than the "
	    "memory left (%zu bytes)", sb.size);
	lim.cfg.memory = memory;
	msgpack_sbuffer_clear(&sb);
	lim.expired = 1;
	is_int(conv_pack(L, -1, "result", 1u << 20, &sb, &err), -1,
	    "a conversion stops once the deadline has passed");
	is_str(err.what, "the deadline passed while converting",
	    "... and says so");
	lim.expired = 0;
	lua_pop(L, 1);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * 3. Every msgpack value Lua cannot take in, and every malformed input.
 */
static const struct {
	const char	*mp;
	const char	*what;
} refused_in[] = {
	{ "", "message too short" },
	{ "c1", "not valid msgpack" },
	{ "91c1", "not valid msgpack" },
	{ "0102", "bytes left over" },
	{ "9101 01", "bytes left over" },
	{ "92 01", "value is truncated" },
	{ "dcffff", "value is truncated" },
	{ "ddffffffff", "value is truncated" },
	{ "de0001 01", "value is truncated" },
	{ "d90561", "value is truncated" },
	{ "cb3ff0", "value is truncated" },
	{ "cfffffffffffffffff", "integer out of range" },
	{ "91 cf8000000000000000", "integer out of range" },
	{ "81 cfffffffffffffffff 01", "integer key out of range" },
	{ "81 c0 01", "map keys must be strings or integers" },
	{ "81 c3 01", "map keys must be strings or integers" },
	{ "81 cb3ff0000000000000 01", "map keys must be strings or integers" },
	{ "81 c401 61 01", "map keys must be strings or integers" },
	{ "81 90 01", "map keys must be strings or integers" },
	{ "81 80 01", "map keys must be strings or integers" },
	{ "d40100", "msgpack extension types are not accepted" },
	{ "c7010500", "msgpack extension types are not accepted" },
	{ "91 d6ff00000000", "msgpack extension types are not accepted" },
};

static void
test_refused_in(void)
{
	unsigned char buf[256];
	struct conv_error err;
	int top = lua_gettop(L);

	for (size_t i = 0; i < sizeof refused_in / sizeof refused_in[0]; i++) {
		size_t n = unhex(refused_in[i].mp, buf, sizeof buf);

		is_int(conv_push(L, (char *)buf, n, &err), -1,
		    "msgpack '%s' is refused as input", refused_in[i].mp);
		is_str(err.what, refused_in[i].what, "msgpack '%s': %s",
		    refused_in[i].mp, refused_in[i].what);
		is_str(err.path, "input", "msgpack '%s': the path is input",
		    refused_in[i].mp);
		is_int(lua_gettop(L), top, "msgpack '%s': nothing is pushed",
		    refused_in[i].mp);
	}
}

/* msgpack that has no JSON form, and JSON text that is refused. */
static const struct {
	const char	*mp;
	const char	*what;
} refused_json_out[] = {
	{ "cb7ff8000000000000", "NaN and infinity have no JSON form" },
	{ "cb7ff0000000000000", "NaN and infinity have no JSON form" },
	{ "91 cbfff0000000000000", "NaN and infinity have no JSON form" },
	{ "ca7fc00000", "NaN and infinity have no JSON form" },
	{ "c40100", "binary and extension values have no JSON form" },
	{ "d40100", "binary and extension values have no JSON form" },
	{ "a1ff", "a string is not valid UTF-8" },
	{ "a2c0af", "a string is not valid UTF-8" },
	{ "81 a1ff 01", "a key is not valid UTF-8 or holds a NUL byte" },
	{ "81 a100 01", "a key is not valid UTF-8 or holds a NUL byte" },
	{ "81 c0 01", "keys must be strings or integers" },
	{ "81 cb3ff0000000000000 01", "keys must be strings or integers" },
	{ "81 91 01 01", "keys must be strings or integers" },
	{ "cfffffffffffffffff", "integer out of range" },
	{ "0101", "bytes left over" },
	{ "", "message too short" },
	{ "c1", "not valid msgpack" },
	{ "92 01", "a container declares more elements than there are bytes" },
	{ "82 a161 01 a1", "value is truncated" },
	/* An integer key and its string print the same: which value would
	 * win is not for a sort to decide. */
	{ "82 01 01 a131 02",
	    "the key \"1\" appears twice (integer keys become strings in JSON)" },
	{ "82 a161 01 a161 02",
	    "the key \"a\" appears twice (integer keys become strings in JSON)" },
};

static const char *const refused_json_in[] = {
	"", " ", "1 2", "[1,", "[1,]", "{\"a\":1,}", "{a:1}", "'x'", "NaN",
	"Infinity", "-Infinity", "01", "1.", ".5", "+1", "0x10", "nul",
	"9223372036854775808", "-9223372036854775809",
	"18446744073709551616", "1e309", "-1e309",
	"\"\\ud800\"", "\"\\udc00x\"", "\"\xff\"", "\"\xc0\x80\"",
	"\"\xed\xa0\x80\"", "\"a\x01\"", "{\"a\\u0000\":1}",
	"[1] x", "\"unterminated",
};

static void
test_refused_json(void)
{
	unsigned char buf[256];
	msgpack_sbuffer sb;
	char jerr[256];

	for (size_t i = 0; i < sizeof refused_json_out / sizeof refused_json_out[0];
	    i++) {
		size_t n = unhex(refused_json_out[i].mp, buf, sizeof buf);
		char *text = jmp_to_json((char *)buf, n, jerr, sizeof jerr);

		ok(text == NULL, "msgpack '%s' has no JSON text",
		    refused_json_out[i].mp);
		is_str(jerr, refused_json_out[i].what, "msgpack '%s': %s",
		    refused_json_out[i].mp, refused_json_out[i].what);
		free(text);
	}
	msgpack_sbuffer_init(&sb);
	for (size_t i = 0; i < sizeof refused_json_in / sizeof refused_json_in[0];
	    i++) {
		const char *t = refused_json_in[i];

		msgpack_sbuffer_clear(&sb);
		jerr[0] = '\0';
		is_int(jmp_from_json(t, strlen(t), &sb, jerr, sizeof jerr), -1,
		    "JSON text '%s' is refused", t);
		ok(jerr[0] != '\0', "JSON text '%s' is refused with a reason "
		    "(%s)", t, jerr);
	}
	msgpack_sbuffer_destroy(&sb);
}

/*
 * 4. Nesting: 64 containers are fine, a 65th is refused, empty or not, in
 * every direction.
 */
static void
test_depth_json_in(void)
{
	msgpack_sbuffer sb;
	char jerr[256];
	struct conv_error err;

	msgpack_sbuffer_init(&sb);
	for (int objects = 0; objects < 2; objects++) {
		const char *what = objects ? "objects" : "arrays";

		for (int n = DEPTH - 1; n <= DEPTH + 1; n++) {
			for (int empty = 0; empty < 2; empty++) {
				char *t = nested_json(n, objects,
				    empty ? "" : "1");
				int want = n <= DEPTH ? 0 : -1;
				int r;

				msgpack_sbuffer_clear(&sb);
				r = jmp_from_json(t, strlen(t), &sb, jerr,
				    sizeof jerr);
				is_int(r, want, "JSON: %d nested %s%s are %s", n,
				    what, empty ? " (innermost empty)" : "",
				    want == 0 ? "accepted" : "refused");
				if (r < 0)
					is_str(jerr, "nesting is deeper than 64 "
					    "levels", "... as nesting deeper "
					    "than 64 levels");
				else if (is_int(conv_push(L, sb.data, sb.size,
				    &err), 0, "... and convert to Lua"))
					lua_pop(L, 1);
				free(t);
			}
		}
	}
	msgpack_sbuffer_destroy(&sb);
}

static void
test_depth_mp_in(void)
{
	static unsigned char buf[1024];
	const unsigned char one = 0x01;
	struct conv_error err;
	char jerr[256];

	for (int maps = 0; maps < 2; maps++) {
		const char *what = maps ? "maps" : "arrays";

		for (int n = DEPTH - 1; n <= DEPTH + 1; n++) {
			for (int empty = 0; empty < 2; empty++) {
				size_t len = nested_mp(n, maps, &one,
				    empty ? 0 : 1, buf);
				int want = n <= DEPTH ? 0 : -1;
				struct mpr r;
				char *text;

				is_int(conv_push(L, (char *)buf, len, &err), want,
				    "msgpack in: %d nested %s%s are %s", n, what,
				    empty ? " (innermost empty)" : "",
				    want == 0 ? "accepted" : "refused");
				if (want == 0)
					lua_pop(L, 1);
				else
					is_str(err.what, "nesting is deeper than "
					    "64 levels", "... as nesting deeper "
					    "than 64 levels");
				mpr_init(&r, buf, len);
				is_int(mpr_skip(&r, DEPTH), want,
				    "mpr_skip: %d nested %s%s are %s", n, what,
				    empty ? " (innermost empty)" : "",
				    want == 0 ? "accepted" : "refused");
				text = jmp_to_json((char *)buf, len, jerr,
				    sizeof jerr);
				ok((text != NULL) == (want == 0),
				    "msgpack -> JSON: %d nested %s%s are %s", n,
				    what, empty ? " (innermost empty)" : "",
				    want == 0 ? "accepted" : "refused");
				free(text);
			}
		}
	}
}

static void
test_depth_lua_out(void)
{
	static const char *const inner[] = { "1", "{}", "json.array({})" };
	msgpack_sbuffer sb;
	struct conv_error err;

	msgpack_sbuffer_init(&sb);
	for (int n = DEPTH - 1; n <= DEPTH + 1; n++) {
		for (size_t k = 0; k < 3; k++) {
			char expr[256];
			int want = n <= DEPTH ? 0 : -1;

			/* n tables: "1" is wrapped n times, a table n - 1 */
			snprintf(expr, sizeof expr, "(function() local t = %s "
			    "for i = 1, %d do t = {t} end return t end)()",
			    inner[k], k == 0 ? n : n - 1);
			is_int(pack_lua(expr, 0, &sb, &err), want,
			    "Lua out: %d nested tables (innermost %s) are %s",
			    n, inner[k], want == 0 ? "accepted" : "refused");
			if (want < 0)
				is_str(err.what, "nesting is deeper than 64 "
				    "levels", "... as nesting deeper than 64 "
				    "levels");
		}
	}
	msgpack_sbuffer_destroy(&sb);
}

/*
 * 5. UTF-8: what is valid and what is not.
 */
static const struct {
	const char	*bytes;
	int		 valid;
	const char	*why;
	size_t		 n;		/* 0: strlen */
} utf8[] = {
	{ "", 1, "empty text", 0 },
	{ "plain ascii", 1, "ASCII", 0 },
	{ "a\0b", 1, "a NUL byte", 3 },
	{ "\xc2\x80", 1, "U+0080, the first 2-byte character", 0 },
	{ "\xdf\xbf", 1, "U+07FF, the last 2-byte character", 0 },
	{ "\xe0\xa0\x80", 1, "U+0800, the first 3-byte character", 0 },
	{ "\xed\x9f\xbf", 1, "U+D7FF, just below the surrogates", 0 },
	{ "\xee\x80\x80", 1, "U+E000, just above the surrogates", 0 },
	{ "\xef\xbf\xbf", 1, "U+FFFF", 0 },
	{ "\xf0\x90\x80\x80", 1, "U+10000, the first 4-byte character", 0 },
	{ "\xf4\x8f\xbf\xbf", 1, "U+10FFFF, the last character", 0 },
	{ "\x80", 0, "a lone continuation byte", 0 },
	{ "\xbf", 0, "a lone continuation byte 0xbf", 0 },
	{ "\xc0\x80", 0, "an overlong NUL (0xc0 0x80)", 0 },
	{ "\xc1\xbf", 0, "an overlong 2-byte sequence (0xc1)", 0 },
	{ "\xe0\x80\x80", 0, "an overlong 3-byte sequence", 0 },
	{ "\xe0\x9f\xbf", 0, "an overlong U+07FF", 0 },
	{ "\xf0\x80\x80\x80", 0, "an overlong 4-byte sequence", 0 },
	{ "\xf0\x8f\xbf\xbf", 0, "an overlong U+FFFF", 0 },
	{ "\xed\xa0\x80", 0, "the surrogate U+D800", 0 },
	{ "\xed\xbf\xbf", 0, "the surrogate U+DFFF", 0 },
	{ "\xf4\x90\x80\x80", 0, "U+110000, past the last character", 0 },
	{ "\xf5\x80\x80\x80", 0, "a 0xf5 lead byte", 0 },
	{ "\xf8\x88\x80\x80\x80", 0, "a 5-byte sequence", 0 },
	{ "\xfe", 0, "0xfe", 0 },
	{ "\xff", 0, "0xff", 0 },
	{ "\xc3", 0, "a 2-byte sequence cut short", 0 },
	{ "\xe2\x82", 0, "a 3-byte sequence cut short", 0 },
	{ "\xf0\x9f\x98", 0, "a 4-byte sequence cut short", 0 },
	{ "\xc3\x28", 0, "a lead byte followed by ASCII", 0 },
	{ "\xe2\x28\xa1", 0, "a bad second byte of three", 0 },
	{ "ok\xe2\x82\xac" "ok", 1, "a euro sign between ASCII", 0 },
};

static void
test_utf8(void)
{
	msgpack_sbuffer sb;
	struct conv_error err;

	msgpack_sbuffer_init(&sb);
	for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++) {
		size_t n = utf8[i].n ? utf8[i].n : strlen(utf8[i].bytes);

		is_int(utf8_valid(utf8[i].bytes, n), utf8[i].valid,
		    "%s is %s UTF-8", utf8[i].why, utf8[i].valid ? "valid" :
		    "not valid");
		lua_pushlstring(L, utf8[i].bytes, n);
		msgpack_sbuffer_clear(&sb);
		is_int(conv_pack(L, -1, "result", 0, &sb, &err),
		    utf8[i].valid ? 0 : -1, "%s %s a Lua result", utf8[i].why,
		    utf8[i].valid ? "can be" : "cannot be");
		lua_pop(L, 1);
	}
	msgpack_sbuffer_destroy(&sb);
}

/*
 * 6. The strict reader: every format byte, every truncation, counts
 * checked against the bytes left, and the incremental scanner.
 */

/* A small valid value that starts with the byte c; its length, the type
 * mpr_next reports and how many bytes that first item takes. */
static size_t
sample(unsigned c, unsigned char *b, enum mpr_type *type, size_t *head)
{
	static const unsigned char width[] = { 1, 2, 4, 8 };
	size_t n = 0, w;

	b[n++] = (unsigned char)c;
	if (c <= 0x7f || c >= 0xe0) {
		*type = MPR_INT;
		return *head = 1;
	}
	if (c <= 0x8f || (c >= 0x90 && c <= 0x9f)) {
		size_t k = (c & 0x0f) * (c <= 0x8f ? 2 : 1);

		*type = c <= 0x8f ? MPR_MAP : MPR_ARRAY;
		memset(b + n, 0x00, k);
		*head = 1;
		return 1 + k;
	}
	if (c <= 0xbf) {
		memset(b + n, 'a', c & 0x1f);
		*type = MPR_STR;
		return *head = 1 + (c & 0x1f);
	}
	switch (c) {
	case 0xc0:
		*type = MPR_NIL;
		return *head = 1;
	case 0xc2: case 0xc3:
		*type = MPR_BOOL;
		return *head = 1;
	case 0xc4: case 0xc5: case 0xc6:	/* bin 8/16/32: "ab" */
	case 0xd9: case 0xda: case 0xdb:	/* str 8/16/32: "ab" */
		w = width[c >= 0xd9 ? c - 0xd9 : c - 0xc4];
		memset(b + n, 0, w);
		b[n + w - 1] = 2;
		n += w;
		b[n++] = 'a', b[n++] = 'b';
		*type = c >= 0xd9 ? MPR_STR : MPR_BIN;
		return *head = n;
	case 0xc7: case 0xc8: case 0xc9:	/* ext 8/16/32: type 5, "ab" */
		w = width[c - 0xc7];
		memset(b + n, 0, w);
		b[n + w - 1] = 2;
		n += w;
		b[n++] = 5, b[n++] = 'a', b[n++] = 'b';
		*type = MPR_EXT;
		return *head = n;
	case 0xca:
		memcpy(b + n, "\x3f\xc0\x00\x00", 4);
		*type = MPR_FLOAT;
		return *head = 5;
	case 0xcb:
		memcpy(b + n, "\x3f\xf8\x00\x00\x00\x00\x00\x00", 8);
		*type = MPR_FLOAT;
		return *head = 9;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:	/* uint: 1 */
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:	/* int: -1 */
		w = width[(c - 0xcc) % 4];
		memset(b + n, c >= 0xd0 ? 0xff : 0x00, w);
		if (c < 0xd0)
			b[n + w - 1] = 1;
		*type = MPR_INT;
		return *head = 1 + w;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		w = (size_t)1 << (c - 0xd4);
		b[n++] = 7;
		memset(b + n, 'x', w);
		*type = MPR_EXT;
		return *head = 2 + w;
	case 0xdc: case 0xdd:			/* array 16/32 of [0] */
	case 0xde: case 0xdf:			/* map 16/32 of {0: 0} */
		w = c == 0xdc || c == 0xde ? 2 : 4;
		memset(b + n, 0, w);
		b[n + w - 1] = 1;
		n += w;
		*head = n;
		*type = c <= 0xdd ? MPR_ARRAY : MPR_MAP;
		b[n++] = 0;
		if (*type == MPR_MAP)
			b[n++] = 0;
		return n;
	}
	*type = MPR_NIL;
	return 0;	/* 0xc1 */
}

static const char *const type_names[] = {
	"nil", "bool", "int", "uint", "float", "str", "bin", "array", "map",
	"ext"
};

static void
test_format_bytes(void)
{
	unsigned char b[64];

	for (unsigned c = 0; c <= 0xff; c++) {
		enum mpr_type type;
		size_t head, n = sample(c, b, &type, &head);
		struct mpr_item it;
		struct mpr r;
		int good = 1, st;

		if (n == 0) {
			mpr_init(&r, b, 1);
			is_int(mpr_next(&r, &it), -1, "0xc1 is refused");
			is_str(r.err, "not valid msgpack",
			    "0xc1 is not valid msgpack");
			continue;
		}
		mpr_init(&r, b, n);
		st = mpr_next(&r, &it);
		ok(st == 0 && it.type == type &&
		    (size_t)(r.p - b) == head, "0x%02x reads as %s taking %zu "
		    "bytes", c, type_names[type], head);
		mpr_init(&r, b, n);
		ok(mpr_skip(&r, DEPTH) == 0 && mpr_end(&r) == 0,
		    "0x%02x: a whole %zu-byte value is skipped, nothing left",
		    c, n);
		/* Every strict prefix is refused as incomplete. */
		for (size_t k = 0; k < n; k++) {
			mpr_init(&r, b, k);
			if (mpr_skip(&r, DEPTH) == 0)
				good = 0;
			mpr_init(&r, b, k);
			st = mpr_next(&r, &it);
			if (k < head && (st == 0 || strcmp(r.err, k == 0 ?
			    "message too short" : "value is truncated") != 0))
				good = 0;
			if (k >= head && (type == MPR_ARRAY || type == MPR_MAP) &&
			    (st == 0 || strcmp(r.err, "a container declares "
			    "more elements than there are bytes") != 0))
				good = 0;
		}
		ok(good, "0x%02x: every one of the %zu shorter prefixes is "
		    "refused as incomplete", c, n);
	}
}

/* The values items decode to. */
static const struct {
	const char	*mp;
	int		 type;
	long long	 i;
	double		 f;
} values[] = {
	{ "00", MPR_INT, 0, 0 },	{ "7f", MPR_INT, 127, 0 },
	{ "e0", MPR_INT, -32, 0 },	{ "ff", MPR_INT, -1, 0 },
	{ "cc ff", MPR_INT, 255, 0 },	{ "cd ffff", MPR_INT, 65535, 0 },
	{ "ce ffffffff", MPR_INT, 4294967295ll, 0 },
	{ "cf 7fffffffffffffff", MPR_INT, INT64_MAX, 0 },
	{ "d0 80", MPR_INT, -128, 0 },	{ "d0 7f", MPR_INT, 127, 0 },
	{ "d1 8000", MPR_INT, -32768, 0 },
	{ "d1 ff7f", MPR_INT, -129, 0 },
	{ "d2 80000000", MPR_INT, INT32_MIN, 0 },
	{ "d3 8000000000000000", MPR_INT, INT64_MIN, 0 },
	{ "d3 ffffffffffffffff", MPR_INT, -1, 0 },
	{ "ca 3fc00000", MPR_FLOAT, 0, 1.5 },
	{ "ca c0200000", MPR_FLOAT, 0, -2.5 },
	{ "cb 400921fb54442d18", MPR_FLOAT, 0, 3.141592653589793 },
	{ "cb 8000000000000000", MPR_FLOAT, 0, -0.0 },
};

static void
test_values(void)
{
	unsigned char b[32];
	struct mpr_item it;
	struct mpr r;

	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		mpr_init(&r, b, unhex(values[i].mp, b, sizeof b));
		if (!is_int(mpr_next(&r, &it), 0, "msgpack %s reads",
		    values[i].mp) || !is_int(it.type, values[i].type,
		    "msgpack %s has the right type", values[i].mp))
			continue;
		if (it.type == MPR_INT)
			is_int(it.v.i, values[i].i, "msgpack %s is %lld",
			    values[i].mp, values[i].i);
		else
			ok(it.v.f == values[i].f && signbit(it.v.f) ==
			    signbit(values[i].f), "msgpack %s is %g",
			    values[i].mp, values[i].f);
	}
	mpr_init(&r, b, unhex("cf 8000000000000000", b, sizeof b));
	ok(mpr_next(&r, &it) == 0 && it.type == MPR_UINT &&
	    it.v.u == 1ull << 63, "uint 64 above INT64_MAX reads as MPR_UINT");
	mpr_init(&r, b, unhex("d6 ff 00000001", b, sizeof b));
	ok(mpr_next(&r, &it) == 0 && it.type == MPR_EXT && it.ext == -1 &&
	    it.v.s.n == 4, "fixext 4 of type -1 reads with its payload");
}

/* Declared counts against the bytes that are left. */
static const char *const overdeclared[] = {
	"91", "92 01", "9f 01 02 03", "81 01", "82 01 01 01",
	"dc ffff", "dc 0002 01", "dd ffffffff", "dd 00000002 00",
	"de ffff", "de 0001 00", "df ffffffff", "df 00000001 00",
	"8f", "9f",
};

static void
test_overdeclared(void)
{
	unsigned char b[32];
	struct mpr_item it;
	struct mpr r;

	for (size_t i = 0; i < sizeof overdeclared / sizeof overdeclared[0];
	    i++) {
		mpr_init(&r, b, unhex(overdeclared[i], b, sizeof b));
		is_int(mpr_next(&r, &it), -1, "%s is refused at its header",
		    overdeclared[i]);
		is_str(r.err, "a container declares more elements than there "
		    "are bytes", "%s declares more elements than there are "
		    "bytes", overdeclared[i]);
	}
}

/* Typed reads refuse the wrong type; mpr_end refuses leftovers. */
static void
test_typed(void)
{
	unsigned char b[64];
	struct mpr r;
	uint32_t n;
	uint64_t u;
	int64_t i;
	int v;
	const char *s;
	size_t len;

	mpr_init(&r, b, unhex("93 cf8000000000000000 ff c3 a161 c401ff c0 c0",
	    b, sizeof b));
	ok(mpr_array(&r, &n) == 0 && n == 3, "mpr_array reads an array of 3");
	ok(mpr_uint(&r, &u) == 0 && u == 1ull << 63, "mpr_uint reads 2^63");
	ok(mpr_uint(&r, &u) == -1 && strcmp(r.err, "expected a non-negative "
	    "integer") == 0, "mpr_uint refuses -1");
	ok(mpr_map(&r, &n) == -1 && strcmp(r.err, "expected a map") == 0,
	    "mpr_map refuses true");
	ok(mpr_str(&r, &s, &len) == 0 && len == 1 && *s == 'a',
	    "mpr_str reads \"a\"");
	ok(mpr_str(&r, &s, &len) == -1, "mpr_str refuses binary");
	ok(mpr_is_nil(&r) == 1 && mpr_is_nil(&r) == 1 && mpr_is_nil(&r) == 0,
	    "mpr_is_nil takes two nils and no more");
	is_int(mpr_end(&r), 0, "nothing is left after the last value");
	mpr_init(&r, b, unhex("c4 01 ff a1 62 cf ffffffffffffffff c2 01",
	    b, sizeof b));
	ok(mpr_bytes(&r, &s, &len) == 0 && len == 1, "mpr_bytes reads binary");
	ok(mpr_bytes(&r, &s, &len) == 0 && len == 1 && *s == 'b',
	    "mpr_bytes reads a string");
	ok(mpr_int(&r, &i) == -1 && strcmp(r.err, "expected an integer") == 0,
	    "mpr_int refuses 2^64 - 1");
	ok(mpr_bool(&r, &v) == 0 && v == 0, "mpr_bool reads false");
	ok(mpr_end(&r) == -1 && strcmp(r.err, "bytes left over") == 0,
	    "mpr_end refuses a byte left over");
}

/* Scan buf whole, then fed one byte at a time, and compare. */
static void
scan_agrees(const unsigned char *buf, size_t len, const char *name)
{
	struct mpr_scan whole, bit;
	size_t wlen = 0, blen = 0, at = 0;
	int ws, bs = 0;

	mpr_scan_init(&whole);
	ws = mpr_scan(&whole, buf, len, DEPTH, &wlen);
	mpr_scan_init(&bit);
	for (at = 0; at <= len; at++)
		if ((bs = mpr_scan(&bit, buf, at, DEPTH, &blen)) != 0)
			break;
	ok(ws == bs && (ws != 1 || wlen == blen),
	    "%s: scanned byte by byte as scanned whole (%d, %zu bytes)",
	    name, ws, wlen);
	if (ws == 1)
		ok(at == wlen, "%s: the byte-by-byte scan ends at the value's "
		    "last byte", name);
	if (ws == -1)
		ok(bit.err != NULL && whole.err != NULL &&
		    strcmp(bit.err, whole.err) == 0,
		    "%s: both scans give the same reason (%s)", name,
		    whole.err ? whole.err : "none");
	if (ws == 1) {	/* mpr_skip on the buffer agrees too */
		struct mpr r;

		mpr_init(&r, buf, len);
		ok(mpr_skip(&r, DEPTH) == 0 && (size_t)(r.p - buf) == wlen,
		    "%s: mpr_skip finds the same end", name);
	}
}

static void
test_scan(void)
{
	static const char *const docs[] = {
		"01", "c0", "93 01 92 02 81 a161 91 03 a3 78797a",
		"82 a161 80 a162 90", "dc0003 c3 c2 c0",
		"de0001 a178 ca3fc00000", "c7 02 05 6162", "d8 01 "
		"00112233445566778899aabbccddeeff",
		"0102",				/* the first of two */
		"92 01 c1",			/* bad byte inside */
		"c1",
		"dc ffff 01",			/* incomplete: needs more */
	};
	static unsigned char buf[2048];
	const unsigned char one = 0x01;
	unsigned char b[64];
	char name[80];

	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
		scan_agrees(buf, unhex(docs[i], buf, sizeof buf), docs[i]);
	for (unsigned c = 0; c <= 0xff; c++) {
		enum mpr_type type;
		size_t head, n = sample(c, b, &type, &head);

		snprintf(name, sizeof name, "format byte 0x%02x", c);
		scan_agrees(b, n ? n : 1, name);
	}
	for (int maps = 0; maps < 2; maps++)
		for (int n = DEPTH; n <= DEPTH + 1; n++)
			for (int empty = 0; empty < 2; empty++) {
				size_t len = nested_mp(n, maps, &one,
				    empty ? 0 : 1, buf);

				snprintf(name, sizeof name, "%d nested %s%s", n,
				    maps ? "maps" : "arrays",
				    empty ? " (innermost empty)" : "");
				scan_agrees(buf, len, name);
			}
	/* A long string header split across feeds. */
	buf[0] = 0xda, buf[1] = 0x01, buf[2] = 0x2c;
	memset(buf + 3, 'z', 300);
	scan_agrees(buf, 303, "a 300-byte str 16");
	/* Two values in a stream: init again after the first. */
	{
		struct mpr_scan s;
		size_t len = unhex("92 01 02 a2 6869", buf, sizeof buf), out = 0;
		size_t at, first = 0;
		int st = 0;

		mpr_scan_init(&s);
		for (at = 0; at <= len && st == 0; at++)
			st = mpr_scan(&s, buf, at, DEPTH, &out);
		first = out;
		is_int(first, 3, "a stream's first value is 3 bytes");
		mpr_scan_init(&s);
		st = 0;
		for (at = 0; at <= len - first && st == 0; at++)
			st = mpr_scan(&s, buf + first, at, DEPTH, &out);
		ok(st == 1 && out == 3, "a stream's second value is 3 bytes");
	}
}

int
main(void)
{
	struct lim_config c;

	if (sbx_init() < 0)
		return diag("sbx_init failed"), 1;
	lim_defaults(&c);
	c.memory = 256u << 20;
	lim_reset(&lim, &c);
	if ((L = sbx_new(&lim)) == NULL)
		return diag("sbx_new failed"), 1;
	test_exact();
	test_seen();
	test_json_round_trips();
	test_refused_out();
	test_sandbox_limits();
	test_refused_in();
	test_refused_json();
	test_depth_json_in();
	test_depth_mp_in();
	test_depth_lua_out();
	test_utf8();
	test_format_bytes();
	test_values();
	test_overdeclared();
	test_typed();
	test_scan();
	lua_close(L);
	return done_testing();
}
