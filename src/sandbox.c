/*
 * sandbox.c: builds the sandbox's Lua state from one table of what is kept.
 * Everything not named here is absent: debug, io, os, package, load,
 * loadstring, dofile, loadfile, require, warn, string.dump. Uses Lua's
 * libraries, LPeg, and the mod_*.c modules.
 */
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include <lauxlib.h>
#include <lualib.h>
#include <lua-lpeg.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "coro.h"
#include "mod.h"
#include "sandbox.h"

static void modmath_patch(lua_State *, int);

static const char *const base_kept[] = {
	"assert", "collectgarbage", "error", "getmetatable", "ipairs", "next",
	"pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset",
	"select", "setmetatable", "tonumber", "tostring", "type", "xpcall",
	"_G", "_VERSION", NULL
};

static const char *const string_kept[] = {
	"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
	"match", "pack", "packsize", "rep", "reverse", "sub", "unpack", "upper",
	NULL
};

/* Lua 5.4's own math; Debian's build adds 5.2's deprecated functions
 * (atan2, cosh, pow, ...), which a rule should not come to depend on. */
static const char *const math_kept[] = {
	"abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor",
	"fmod", "huge", "log", "max", "maxinteger", "min", "mininteger",
	"modf", "pi", "rad", "random", "randomseed", "sin", "sqrt", "tan",
	"tointeger", "type", "ult", NULL
};

/* LPeg without its debugging dumps (pcode, ptree print to stdout). */
static const char *const lpeg_kept[] = {
	"B", "C", "Carg", "Cb", "Cc", "Cf", "Cg", "Cmt", "Cp", "Cs", "Ct",
	"P", "R", "S", "V", "locale", "match", "setmaxstack", "type",
	"version", NULL
};

static const struct sbx_lib {
	const char		*name;		/* global name */
	lua_CFunction		 open;
	const char *const	*kept;		/* NULL: all of it */
	void			(*patch)(lua_State *, int);
} sbx_libs[] = {
	{ LUA_GNAME,		luaopen_base,		base_kept,	modbase_patch },
	{ LUA_STRLIBNAME,	luaopen_string,		string_kept,	modstring_patch },
	{ LUA_TABLIBNAME,	luaopen_table,		NULL,		NULL },
	{ LUA_MATHLIBNAME,	luaopen_math,		math_kept,	modmath_patch },
	{ LUA_UTF8LIBNAME,	luaopen_utf8,		NULL,		NULL },
	{ LUA_COLIBNAME,	luaopen_coroutine,	NULL,		coro_patch },
	{ "lpeg",		luaopen_lpeg,		lpeg_kept,	modlpeg_patch },
	{ "re",			modre_open,		NULL,		NULL },
	{ "json",		modjson_open,		NULL,		NULL },
	{ "base64",		modb64_open,		NULL,		NULL },
	{ "crypto",		modcrypto_open,		NULL,		NULL },
};

static int
sbx_is_kept(const char *const *kept, const char *name)
{
	for (; *kept != NULL; kept++)
		if (strcmp(*kept, name) == 0)
			return 1;
	return 0;
}

/* Clear every field of the table at idx whose name is not kept. */
static void
sbx_filter(lua_State *L, int idx, const char *const *kept)
{
	idx = lua_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING ||
		    !sbx_is_kept(kept, lua_tostring(L, -1))) {
			lua_pushvalue(L, -1);
			lua_pushnil(L);
			lua_rawset(L, idx);	/* clearing while walking is allowed */
		}
	}
}

static int
sbx_open_all(lua_State *L)
{
	for (size_t i = 0; i < sizeof sbx_libs / sizeof sbx_libs[0]; i++) {
		const struct sbx_lib *lib = &sbx_libs[i];

		luaL_requiref(L, lib->name, lib->open, 1);
		if (lib->patch != NULL)
			lib->patch(L, -1);
		if (lib->kept != NULL)
			sbx_filter(L, -1, lib->kept);
		lua_pop(L, 1);
	}
	modcap_install(L);
	return 0;
}

/*
 * Once per process, before any containment: the limits, and every library
 * that would otherwise set itself up lazily by opening files (OpenSSL reads
 * its configuration, jansson seeds its hash from /dev/urandom).
 */
int
sbx_init(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (lim_init() < 0)
		return -1;
	json_object_seed(0);
	if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) ||
	    !EVP_Digest("", 0, md, &n, EVP_sha256(), NULL) ||
	    HMAC(EVP_sha256(), "k", 1, (const unsigned char *)"", 0, md, &n)
	    == NULL)
		return -1;
	return 0;
}

lua_State *
sbx_new(struct lim *m)
{
	lua_State *L = lua_newstate(lim_alloc, m);

	if (L == NULL)
		return NULL;
	lua_pushcfunction(L, sbx_open_all);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		lua_close(L);
		return NULL;
	}
	return L;
}

lua_State *
sbx_trusted_new(const luaL_Reg *libs)
{
	lua_State *L = luaL_newstate();

	if (L == NULL)
		return NULL;
	for (const luaL_Reg *l = libs; l->name != NULL; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	return L;
}

int
sbx_load(lua_State *L, const char *src, size_t len, const char *chunkname)
{
	if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
		lua_pushfstring(L, "%s: precompiled chunks are refused; "
		    "send the rule's source text", chunkname + 1);
		return LUA_ERRSYNTAX;
	}
	return luaL_loadbufferx(L, src, len, chunkname, "t");
}

/* The string metatable stays, but getmetatable("") yields only "string". */
void
modstring_patch(lua_State *L, int idx)
{
	modtostr_patch_string(L, idx);
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushliteral(L, "string");
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* LPeg's pattern metatable is out of a rule's reach: a __gc written into it
 * would make every later pattern a finalizer running with hooks off. */
void
modlpeg_patch(lua_State *L, int idx)
{
	lua_getfield(L, idx, "P");
	lua_pushinteger(L, 0);
	lua_call(L, 1, 1);
	if (lua_getmetatable(L, -1)) {
		lua_pushliteral(L, "lpeg.pattern");
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/*
 * math.random's seeds. Every state starts from a base seed of its own: from
 * the kernel, or the one sbx_fix_seed gave (replay). Lua seeds from the time
 * and the state's address, and both repeat when one process runs
 * invocations one after another: an invocation could predict the numbers
 * of the next (and the seed it returns tells where the state lives).
 * math.randomseed() without arguments reseeds from the base seed and a
 * count, so a recording's one seed replays every number of the invocation.
 */
struct sbx_seed {
	int64_t		base[2];
	uint64_t	n;		/* reseeds so far */
};

static const char sbx_seed_key;		/* registry: the state's seed */
static int sbx_seed_fixed;
static int64_t sbx_seed_given[2];

void
sbx_fix_seed(const int64_t *seed)
{
	sbx_seed_fixed = seed != NULL;
	if (seed != NULL)
		memcpy(sbx_seed_given, seed, sizeof sbx_seed_given);
}

int
sbx_seed(lua_State *L, int64_t seed[2])
{
	struct sbx_seed *s;

	lua_rawgetp(L, LUA_REGISTRYINDEX, &sbx_seed_key);
	s = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (s == NULL)
		return -1;
	memcpy(seed, s->base, sizeof s->base);
	return 0;
}

/* splitmix64's finalizer: reseed n of a base seed. */
static int64_t
modmath_mix(int64_t base, uint64_t n)
{
	uint64_t z = (uint64_t)base + n * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (int64_t)(z ^ (z >> 31));
}

/* math.randomseed(): with arguments, Lua's own; without, the next seed of
 * the state's base seed. */
static int
modmath_randomseed(lua_State *L)
{
	struct sbx_seed *s = lua_touserdata(L, lua_upvalueindex(2));
	int n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(1));	/* Lua's own */
	lua_insert(L, 1);
	if (n == 0) {
		s->n++;
		lua_pushinteger(L, (lua_Integer)modmath_mix(s->base[0], s->n));
		lua_pushinteger(L, (lua_Integer)modmath_mix(s->base[1], s->n));
		n = 2;
	}
	lua_call(L, n, LUA_MULTRET);
	return lua_gettop(L);
}

/* Every new state starts math.random from its base seed. */
static void
modmath_patch(lua_State *L, int idx)
{
	struct sbx_seed *s;

	idx = lua_absindex(L, idx);
	s = lua_newuserdatauv(L, sizeof *s, 0);
	memset(s, 0, sizeof *s);
	if (sbx_seed_fixed)
		memcpy(s->base, sbx_seed_given, sizeof s->base);
	else if (getrandom(s->base, sizeof s->base, 0) != (ssize_t)sizeof s->base)
		luaL_error(L, "math.random: no seed available");
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &sbx_seed_key);
	lua_getfield(L, idx, "randomseed");		/* Lua's own */
	lua_pushvalue(L, -1);
	lua_pushinteger(L, (lua_Integer)s->base[0]);
	lua_pushinteger(L, (lua_Integer)s->base[1]);
	lua_call(L, 2, 0);
	lua_pushvalue(L, -2);
	lua_pushcclosure(L, modmath_randomseed, 2);
	lua_setfield(L, idx, "randomseed");
	lua_pop(L, 1);
}
