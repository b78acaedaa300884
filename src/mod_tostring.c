/*
 * mod_tostring.c: tostring, and the %s and %p of string.format, without
 * addresses. Lua prints a function, table, thread or userdata as its
 * address, which would hand a rule the layout of the process (the C
 * functions' addresses defeat ASLR for any later memory bug). Here such a
 * value prints as its type and a keyed hash of its address, "function:
 * #1f0c...": still the same for the same object within an invocation,
 * useless outside it. The key is random per state. Uses libcrypto's
 * HMAC-SHA256.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <lauxlib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mod.h"

#define TOSTR_KEY_LEN	16

static const char tostr_key_slot;	/* registry key of the state's key */

/* The state's key, made on first use. */
static const unsigned char *
tostr_key(lua_State *L)
{
	unsigned char *k;

	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &tostr_key_slot) == LUA_TUSERDATA) {
		k = lua_touserdata(L, -1);
		lua_pop(L, 1);
		return k;
	}
	lua_pop(L, 1);
	k = lua_newuserdatauv(L, TOSTR_KEY_LEN, 0);
	if (getrandom(k, TOSTR_KEY_LEN, 0) != TOSTR_KEY_LEN)
		luaL_error(L, "tostring: no randomness");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &tostr_key_slot);
	return k;
}

/* "function: 0x…" with a hash of the address in place of it. */
static void
tostr_hidden(lua_State *L, int idx)
{
	const void *p = lua_topointer(L, idx);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	unsigned long long h = 0;
	char buf[48];

	if (HMAC(EVP_sha256(), tostr_key(L), TOSTR_KEY_LEN,
	    (const unsigned char *)&p, sizeof p, md, &n) == NULL || n < 8)
		luaL_error(L, "tostring: libcrypto failed");
	for (int i = 0; i < 8; i++)
		h = h << 8 | md[i];
	snprintf(buf, sizeof buf, "%s: #%016llx", luaL_typename(L, idx), h);
	lua_pushstring(L, buf);
}

/* luaL_tolstring, but no address ever shows. */
const char *
modtostr_tolstring(lua_State *L, int idx, size_t *len)
{
	idx = lua_absindex(L, idx);
	if (luaL_callmeta(L, idx, "__tostring")) {
		if (!lua_isstring(L, -1))
			luaL_error(L, "'__tostring' must return a string");
		return lua_tolstring(L, -1, len);
	}
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER:
	case LUA_TSTRING:
	case LUA_TBOOLEAN:
	case LUA_TNIL:
		return luaL_tolstring(L, idx, len);
	default:
		tostr_hidden(L, idx);
		return lua_tolstring(L, -1, len);
	}
}

static int
modtostr_tostring(lua_State *L)
{
	luaL_checkany(L, 1);
	modtostr_tolstring(L, 1, NULL);
	return 1;
}

/* Skip one conversion spec of string.format at p (after the '%'); return
 * where it ends and its conversion character. */
static const char *
tostr_spec(const char *p, char *conv)
{
	while (*p != '\0' && strchr("-+ #0", *p) != NULL)
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	*conv = *p;
	return *p != '\0' ? p + 1 : p;
}

/* string.format with what Lua would print as an address hidden: the
 * argument of a %s that is not a string or a number, and of every %p,
 * becomes its hidden text (and %p becomes %s). */
static int
modtostr_format(lua_State *L)
{
	size_t flen;
	const char *f = luaL_checklstring(L, 1, &flen), *end = f + flen, *q;
	int arg = 1, top = lua_gettop(L);
	luaL_Buffer b;
	char conv;

	luaL_buffinit(L, &b);
	while ((q = memchr(f, '%', (size_t)(end - f))) != NULL) {
		luaL_addlstring(&b, f, (size_t)(q - f));
		if (q + 1 < end && q[1] == '%') {
			luaL_addlstring(&b, "%%", 2);
			f = q + 2;
			continue;
		}
		f = tostr_spec(q + 1, &conv);
		luaL_addlstring(&b, q, (size_t)(f - q) - (conv == 'p'));
		if (conv == 'p')
			luaL_addchar(&b, 's');
		if (++arg <= top && (conv == 'p' || (conv == 's' &&
		    lua_type(L, arg) != LUA_TSTRING &&
		    lua_type(L, arg) != LUA_TNUMBER))) {
			if (conv == 'p' && (lua_type(L, arg) == LUA_TNIL ||
			    lua_type(L, arg) == LUA_TBOOLEAN ||
			    lua_type(L, arg) == LUA_TNUMBER))
				lua_pushliteral(L, "(null)");
			else
				modtostr_tolstring(L, arg, NULL);
			lua_replace(L, arg);
		}
	}
	luaL_addlstring(&b, f, (size_t)(end - f));
	luaL_pushresult(&b);
	lua_replace(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));	/* Lua's own */
	lua_insert(L, 1);
	lua_call(L, top, 1);
	return 1;
}

/* Replace tostring in the base table at idx. */
void
modtostr_patch_base(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_pushcfunction(L, modtostr_tostring);
	lua_setfield(L, idx, "tostring");
}

/* Replace format in the string table at idx. */
void
modtostr_patch_string(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_getfield(L, idx, "format");
	lua_pushcclosure(L, modtostr_format, 1);
	lua_setfield(L, idx, "format");
}
