/*
 * mod_b64.c: the sandbox's base64 library (standard alphabet, padded), over
 * libcrypto's EVP_EncodeBlock/EVP_DecodeBlock. Decoding is strict: what
 * libcrypto would skip or guess (spaces, missing padding) is refused.
 */
#include <string.h>

#include <lauxlib.h>
#include <openssl/evp.h>

#include "mod.h"

static int
modb64_encode(lua_State *L)
{
	size_t n;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	unsigned char *out;
	int len;

	if (n > (size_t)INT32_MAX / 4 * 3)
		return luaL_error(L, "base64.encode: input too long");
	out = (unsigned char *)luaL_buffinitsize(L, &b, (n + 2) / 3 * 4 + 1);
	len = EVP_EncodeBlock(out, s, (int)n);
	luaL_pushresultsize(&b, (size_t)len);
	return 1;
}

static int
modb64_valid(const char *s, size_t n, size_t *pad)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	*pad = 0;
	if (n % 4 != 0)
		return 0;
	if (n > 0 && s[n - 1] == '=')
		*pad = (n > 1 && s[n - 2] == '=') ? 2 : 1;
	for (size_t i = 0; i < n - *pad; i++)
		if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
			return 0;
	return 1;
}

static int
modb64_decode(lua_State *L)
{
	size_t n, pad;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	unsigned char *out;
	int len;

	if (n > INT32_MAX || !modb64_valid(s, n, &pad))
		return luaL_error(L, "base64.decode: not valid base64");
	out = (unsigned char *)luaL_buffinitsize(L, &b, n / 4 * 3 + 1);
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n)) < 0)
		return luaL_error(L, "base64.decode: not valid base64");
	luaL_pushresultsize(&b, (size_t)len - pad);
	return 1;
}

static const luaL_Reg modb64_funcs[] = {
	{ "encode",	modb64_encode },
	{ "decode",	modb64_decode },
	{ NULL,		NULL }
};

int
modb64_open(lua_State *L)
{
	luaL_newlib(L, modb64_funcs);
	return 1;
}
