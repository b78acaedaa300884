/*
 * rcache.c: compiled rules, kept per worker process (rcache.h). Entries
 * are found by rule name and checked against the whole source text, so a
 * reloaded rule is compiled afresh; the least recently used go first when
 * the cache passes its size. Uses sandbox.c.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "rcache.h"
#include "sandbox.h"

#define RCACHE_SLOTS	64

struct rc_entry {
	char		*name;
	char		*source;
	size_t		 source_len;
	char		*code;		/* our lua_dump of it */
	size_t		 code_len;
	unsigned long	 used;		/* for LRU */
};

static struct rc_entry rc[RCACHE_SLOTS];
static size_t rc_bytes;
static unsigned long rc_clock;

static void
rc_drop(struct rc_entry *e)
{
	rc_bytes -= e->source_len + e->code_len;
	free(e->name);
	free(e->source);
	free(e->code);
	memset(e, 0, sizeof *e);
}

void
rcache_clear(void)
{
	for (int i = 0; i < RCACHE_SLOTS; i++)
		if (rc[i].name != NULL)
			rc_drop(&rc[i]);
}

static struct rc_entry *
rc_find(const char *name, const char *src, size_t len)
{
	for (int i = 0; i < RCACHE_SLOTS; i++)
		if (rc[i].name != NULL && strcmp(rc[i].name, name) == 0 &&
		    rc[i].source_len == len && memcmp(rc[i].source, src, len) == 0)
			return &rc[i];
	return NULL;
}

/* A free slot, made by dropping the least recently used ones. */
static struct rc_entry *
rc_slot(size_t need)
{
	struct rc_entry *oldest;

	for (;;) {
		oldest = NULL;
		for (int i = 0; i < RCACHE_SLOTS; i++) {
			if (rc[i].name == NULL && rc_bytes + need <=
			    RCACHE_MAX_BYTES)
				return &rc[i];
			if (rc[i].name != NULL && (oldest == NULL ||
			    rc[i].used < oldest->used))
				oldest = &rc[i];
		}
		if (oldest == NULL)
			return NULL;
		rc_drop(oldest);
	}
}

struct rc_buf {
	char	*p;
	size_t	 len, cap;
};

static int
rc_writer(lua_State *L, const void *p, size_t n, void *ud)
{
	struct rc_buf *b = ud;

	(void)L;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *q;

		while (cap < b->len + n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL)
			return 1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Keep the compiled function at the top of L's stack. Failure to keep it
 * only costs a compilation next time. */
static void
rc_keep(lua_State *L, const char *name, const char *src, size_t len)
{
	struct rc_buf b = { NULL, 0, 0 };
	struct rc_entry *e;

	if (lua_dump(L, rc_writer, &b, 0) != 0 ||
	    (e = rc_slot(len + b.len)) == NULL) {
		free(b.p);
		return;
	}
	e->name = strdup(name);
	e->source = malloc(len ? len : 1);
	if (e->name == NULL || e->source == NULL) {
		free(e->name);
		free(e->source);
		free(b.p);
		memset(e, 0, sizeof *e);
		return;
	}
	memcpy(e->source, src, len);
	e->source_len = len;
	e->code = b.p;
	e->code_len = b.len;
	e->used = ++rc_clock;
	rc_bytes += len + b.len;
}

int
rcache_load(lua_State *L, const char *name, const char *src, size_t len,
    const char *chunkname)
{
	struct rc_entry *e = rc_find(name, src, len);
	int st;

	if (e != NULL) {
		e->used = ++rc_clock;
		return luaL_loadbufferx(L, e->code, e->code_len, chunkname, "b");
	}
	if ((st = sbx_load(L, src, len, chunkname)) == LUA_OK)
		rc_keep(L, name, src, len);
	return st;
}
