/*
 * mod_crypto.c: the sandbox's crypto library: sha256, hmac_sha256 and a
 * constant-time comparison, over libcrypto. Digests are returned as lowercase
 * hex (default), raw bytes or base64.
 */
#include <string.h>

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mod.h"

static int
modcrypto_result(lua_State *L, int fmtarg, const unsigned char *md,
    unsigned int n)
{
	static const char *const fmts[] = { "hex", "raw", "base64", NULL };
	static const char hexdigits[] = "0123456789abcdef";
	char buf[2 * EVP_MAX_MD_SIZE + 1];

	switch (luaL_checkoption(L, fmtarg, "hex", fmts)) {
	case 0:
		for (unsigned int i = 0; i < n; i++) {
			buf[2 * i] = hexdigits[md[i] >> 4];
			buf[2 * i + 1] = hexdigits[md[i] & 15];
		}
		lua_pushlstring(L, buf, 2 * (size_t)n);
		return 1;
	case 1:
		lua_pushlstring(L, (const char *)md, n);
		return 1;
	default:
		EVP_EncodeBlock((unsigned char *)buf, md, (int)n);
		lua_pushstring(L, buf);
		return 1;
	}
}

static int
modcrypto_sha256(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(s, n, md, &len, EVP_sha256(), NULL))
		return luaL_error(L, "crypto.sha256: libcrypto failed");
	return modcrypto_result(L, 2, md, len);
}

static int
modcrypto_hmac_sha256(lua_State *L)
{
	size_t klen, n;
	const char *key = luaL_checklstring(L, 1, &klen);
	const char *s = luaL_checklstring(L, 2, &n);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (klen > INT32_MAX || HMAC(EVP_sha256(), key, (int)klen,
	    (const unsigned char *)s, n, md, &len) == NULL)
		return luaL_error(L, "crypto.hmac_sha256: libcrypto failed");
	return modcrypto_result(L, 3, md, len);
}

static int
modcrypto_equal(lua_State *L)
{
	size_t an, bn;
	const char *a = luaL_checklstring(L, 1, &an);
	const char *b = luaL_checklstring(L, 2, &bn);

	lua_pushboolean(L, an == bn && CRYPTO_memcmp(a, b, an) == 0);
	return 1;
}

static const luaL_Reg modcrypto_funcs[] = {
	{ "sha256",		modcrypto_sha256 },
	{ "hmac_sha256",	modcrypto_hmac_sha256 },
	{ "equal",		modcrypto_equal },
	{ NULL,			NULL }
};

int
modcrypto_open(lua_State *L)
{
	luaL_newlib(L, modcrypto_funcs);
	return 1;
}
