/*
 * tester_cov.c: line coverage of rule files for `moonbox test --coverage`,
 * all of it trusted C out of the sandbox's reach.
 *
 * In a worker: a rule's executable lines are the active lines of every
 * function its chunk compiles to, as lua_getinfo "L" computes them. Lua
 * gives no handle on a chunk's nested functions without running it, so
 * they are read from the process's own lua_dump of the compiled chunk
 * (the Lua 5.4 format, checked by its header). While a rule runs, the
 * limit hook's line events (limit.c) count its lines here.
 * In the parent: the workers' counts are merged per rule and written as an
 * lcov tracefile. Uses limit.c, tester_msg.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "chan.h"
#include "tester.h"

/* Lua 5.4's dump format (ldump.c, lundump.h). */
#define TCOV_LUAC_VERSION	0x54
#define TCOV_LUAC_FORMAT	0
#define TCOV_LUAC_DATA		"\x19\x93\r\n\x1a\n"
#define TCOV_LUAC_INT		0x5678
#define TCOV_LUAC_NUM		370.5
#define TCOV_ABSLINEINFO	(-0x80)
#define TCOV_MAX_DEPTH		200	/* nested functions */

/* Constant tags: makevariant(type, variant) = type | variant << 4. */
enum {
	TCOV_VNIL = 0, TCOV_VFALSE = 1, TCOV_VTRUE = 0x11,
	TCOV_VNUMINT = 3, TCOV_VNUMFLT = 0x13,
	TCOV_VSHRSTR = 4, TCOV_VLNGSTR = 0x14,
};

struct tcov_rd {
	const unsigned char	*p, *end;
	int			 bad;
	unsigned char		*active;	/* by line, grown */
	size_t			 n;
};

static unsigned
rd_byte(struct tcov_rd *r)
{
	if (r->p >= r->end) {
		r->bad = 1;
		return 0;
	}
	return *r->p++;
}

static void
rd_skip(struct tcov_rd *r, size_t n)
{
	if (n > (size_t)(r->end - r->p)) {
		r->bad = 1;
		r->p = r->end;
	} else
		r->p += n;
}

/* A size: 7 bits a byte, most significant first, the last marked 0x80. */
static size_t
rd_size(struct tcov_rd *r)
{
	size_t x = 0;
	unsigned b;

	do {
		b = rd_byte(r);
		if (x >> (sizeof x * 8 - 8) != 0)
			r->bad = 1;
		x = (x << 7) | (b & 0x7f);
	} while (!r->bad && (b & 0x80) == 0);
	return r->bad ? 0 : x;
}

/* A count of things each at least min bytes long: no more than are left. */
static size_t
rd_count(struct tcov_rd *r, size_t min)
{
	size_t n = rd_size(r);

	if (min > 0 && n > (size_t)(r->end - r->p) / min)
		r->bad = 1;
	return r->bad ? 0 : n;
}

static void
rd_string(struct tcov_rd *r)
{
	size_t n = rd_size(r);

	if (n > 0)
		rd_skip(r, n - 1);
}

static void
rd_mark(struct tcov_rd *r, long line)
{
	unsigned char *p;
	size_t want;

	if (line <= 0 || line >= TST_MAX_LINES) {
		r->bad = line >= TST_MAX_LINES;
		return;
	}
	if ((size_t)line >= r->n) {
		want = (size_t)line + 64;
		if ((p = realloc(r->active, want)) == NULL) {
			r->bad = 1;
			return;
		}
		memset(p + r->n, 0, want - r->n);
		r->active = p;
		r->n = want;
	}
	r->active[line] = 1;
}

static void
rd_constants(struct tcov_rd *r)
{
	size_t n = rd_count(r, 1);

	for (size_t i = 0; i < n && !r->bad; i++) {
		switch (rd_byte(r)) {
		case TCOV_VNIL: case TCOV_VFALSE: case TCOV_VTRUE:
			break;
		case TCOV_VNUMINT:
			rd_skip(r, sizeof(lua_Integer));
			break;
		case TCOV_VNUMFLT:
			rd_skip(r, sizeof(lua_Number));
			break;
		case TCOV_VSHRSTR: case TCOV_VLNGSTR:
			rd_string(r);
			break;
		default:
			r->bad = 1;
		}
	}
}

struct tcov_abs {
	size_t	 pc;
	long	 line;
};

/* The line of instruction pc, from the line before it (ldebug.c). */
static long
rd_nextline(const signed char *li, const struct tcov_abs *abs, size_t nabs,
    long line, size_t pc)
{
	if (li[pc] != TCOV_ABSLINEINFO)
		return line + li[pc];
	for (size_t i = 0; i < nabs; i++)
		if (abs[i].pc == pc)
			return abs[i].line;
	return -1;
}

/* The debug part of a function: its active lines, as collectvalidlines
 * counts them (a vararg function's first instruction is skipped). */
static void
rd_debug(struct tcov_rd *r, long linedefined, int vararg)
{
	const signed char *li;
	struct tcov_abs *abs;
	size_t nli, nabs, i = 0;
	long line = linedefined;

	nli = rd_count(r, 1);
	li = (const signed char *)r->p;
	rd_skip(r, nli);
	nabs = rd_count(r, 2);
	if (r->bad || (abs = calloc(nabs + 1, sizeof *abs)) == NULL) {
		r->bad = 1;
		return;
	}
	for (size_t k = 0; k < nabs; k++) {
		abs[k].pc = rd_size(r);
		abs[k].line = (long)rd_size(r);
	}
	if (vararg && nli > 0)
		line = rd_nextline(li, abs, nabs, line, i++);
	for (; i < nli && !r->bad; i++) {
		line = rd_nextline(li, abs, nabs, line, i);
		rd_mark(r, line);
	}
	free(abs);
	for (size_t k = rd_count(r, 3); k > 0 && !r->bad; k--) {
		rd_string(r);	/* local variables */
		rd_size(r);
		rd_size(r);
	}
	for (size_t k = rd_count(r, 1); k > 0 && !r->bad; k--)
		rd_string(r);	/* upvalue names */
}

static void
rd_function(struct tcov_rd *r, int depth)
{
	long linedefined;
	int vararg;

	if (depth > TCOV_MAX_DEPTH) {
		r->bad = 1;
		return;
	}
	rd_string(r);			/* source */
	linedefined = (long)rd_size(r);
	rd_size(r);			/* lastlinedefined */
	rd_byte(r);			/* numparams */
	vararg = (int)rd_byte(r);
	rd_byte(r);			/* maxstacksize */
	rd_skip(r, rd_count(r, 4) * 4);	/* code */
	rd_constants(r);
	rd_skip(r, rd_count(r, 3) * 3);	/* upvalues */
	for (size_t n = rd_count(r, 1); n > 0 && !r->bad; n--)
		rd_function(r, depth + 1);
	if (!r->bad)
		rd_debug(r, linedefined, vararg);
}

static int
rd_header(struct tcov_rd *r)
{
	static const char data[] = TCOV_LUAC_DATA;
	lua_Integer i;
	lua_Number n;

	if ((size_t)(r->end - r->p) < 4 + 2 + 6 + 3 + sizeof i + sizeof n + 1 ||
	    memcmp(r->p, LUA_SIGNATURE, 4) != 0)
		return -1;
	r->p += 4;
	if (rd_byte(r) != TCOV_LUAC_VERSION || rd_byte(r) != TCOV_LUAC_FORMAT ||
	    memcmp(r->p, data, 6) != 0)
		return -1;
	r->p += 6;
	if (rd_byte(r) != 4 || rd_byte(r) != sizeof i || rd_byte(r) != sizeof n)
		return -1;
	memcpy(&i, r->p, sizeof i);
	memcpy(&n, r->p + sizeof i, sizeof n);
	r->p += sizeof i + sizeof n;
	if (i != TCOV_LUAC_INT || n != TCOV_LUAC_NUM)
		return -1;
	rd_byte(r);			/* the main closure's upvalues */
	return 0;
}

struct tcov_buf {
	char	*p;
	size_t	 n, cap;
};

static int
tcov_writer(lua_State *L, const void *p, size_t n, void *ud)
{
	struct tcov_buf *b = ud;
	char *q;

	(void)L;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;

		while (cap < b->n + n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL)
			return 1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

/*
 * The executable lines of a rule's source: *active[line] is 1 for each,
 * *n the size of the array. 0, or -1 when the source does not compile or
 * this Lua's dump format is not 5.4's. Compiling runs none of the rule.
 */
int
tcov_active(const char *src, size_t len, const char *chunk,
    unsigned char **active, size_t *n)
{
	struct tcov_buf b = { NULL, 0, 0 };
	struct tcov_rd r = { NULL, NULL, 0, NULL, 0 };
	lua_State *L = luaL_newstate();
	int st = -1;

	*active = NULL;
	*n = 0;
	if (L == NULL)
		return -1;
	if (len > 0 && src[0] != LUA_SIGNATURE[0] &&
	    luaL_loadbufferx(L, src, len, chunk, "t") == LUA_OK &&
	    lua_dump(L, tcov_writer, &b, 0) == 0) {
		r.p = (const unsigned char *)b.p;
		r.end = r.p + b.n;
		if (rd_header(&r) == 0) {
			rd_function(&r, 0);
			st = r.bad || r.p != r.end ? -1 : 0;
		}
	}
	lua_close(L);
	free(b.p);
	if (st < 0) {
		free(r.active);
		return -1;
	}
	*active = r.active;
	*n = r.n;
	return 0;
}

/* --- in a worker: counting ---------------------------------------------- */

struct tcov_rec {
	char		*rule;
	char		*chunk;		/* "@name.lua": its functions' source */
	uint64_t	*hits;
	unsigned char	*active;
	size_t		 n;
};

static struct tcov_rec *tcov_recs;
static size_t tcov_nrecs;

static struct tcov_rec *
tcov_find(const char *rule)
{
	for (size_t i = 0; i < tcov_nrecs; i++)
		if (strcmp(tcov_recs[i].rule, rule) == 0)
			return &tcov_recs[i];
	return NULL;
}

/* The rule's record, made with its executable lines the first time. */
static struct tcov_rec *
tcov_record(const char *rule, const char *chunk, const char *src, size_t len)
{
	struct tcov_rec *r = tcov_find(rule), *v;

	if (r != NULL)
		return r;
	if ((v = realloc(tcov_recs, (tcov_nrecs + 1) * sizeof *v)) == NULL)
		return NULL;
	tcov_recs = v;
	r = &v[tcov_nrecs];
	memset(r, 0, sizeof *r);
	if (tcov_active(src, len, chunk, &r->active, &r->n) < 0)
		r->n = 0;
	r->rule = strdup(rule);
	r->chunk = strdup(chunk);
	r->hits = calloc(r->n + 1, sizeof *r->hits);
	if (r->rule == NULL || r->chunk == NULL || r->hits == NULL) {
		free(r->rule), free(r->chunk), free(r->hits), free(r->active);
		return NULL;
	}
	tcov_nrecs++;
	return r;
}

/* The line callback of the limit hook: count the rule's own lines. */
static void
tcov_line(void *ud, lua_State *L, lua_Debug *ar)
{
	struct tcov_rec *r = ud;
	int line = ar->currentline;

	if (line <= 0 || (size_t)line >= r->n || !r->active[line] ||
	    !lua_getinfo(L, "S", ar) || strcmp(ar->source, r->chunk) != 0)
		return;
	r->hits[line]++;
}

/* Count the lines of the rule that m's invocation runs. */
void
tcov_attach(struct lim *m, const char *rule, const char *chunk,
    const char *src, size_t len)
{
	struct tcov_rec *r = tcov_record(rule, chunk, src, len);

	if (r == NULL)
		return;
	m->on_line = tcov_line;
	m->on_line_ud = r;
}

/* A rule that is reported even if no test runs it. */
void
tcov_note(const char *rule, const char *chunk, const char *src, size_t len)
{
	tcov_record(rule, chunk, src, len);
}

/* Every record to the parent; 0, or -1 when the channel broke. */
int
tcov_send(int fd, msgpack_sbuffer *sb)
{
	for (size_t i = 0; i < tcov_nrecs; i++) {
		struct tcov_rec *r = &tcov_recs[i];

		if (tmsg_coverage_pack(sb, r->rule, r->hits, r->active, r->n)
		    < 0 || chan_send(fd, sb->data, sb->size) < 0)
			return -1;
	}
	return 0;
}

/* --- in the parent: merging and lcov ------------------------------------- */

static int
tcov_grow(struct tst_cov *c, size_t n)
{
	uint64_t *h;
	unsigned char *a;

	if (n <= c->nlines)
		return 0;
	if ((h = realloc(c->hits, n * sizeof *h)) == NULL)
		return -1;
	c->hits = h;
	if ((a = realloc(c->active, n)) == NULL)
		return -1;
	c->active = a;
	memset(h + c->nlines, 0, (n - c->nlines) * sizeof *h);
	memset(a + c->nlines, 0, n - c->nlines);
	c->nlines = n;
	return 0;
}

static struct tst_cov *
tcov_entry(struct tst_covset *s, const char *rule, const char *path)
{
	struct tst_cov *v;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].path, path) == 0)
			return &s->v[i];
	if ((v = realloc(s->v, (s->n + 1) * sizeof *v)) == NULL)
		return NULL;
	s->v = v;
	v = &s->v[s->n];
	memset(v, 0, sizeof *v);
	v->rule = strdup(rule);
	v->path = strdup(path);
	if (v->rule == NULL || v->path == NULL) {
		free(v->rule), free(v->path);
		return NULL;
	}
	s->n++;
	return v;
}

/* Add one worker's counts for a rule file. */
void
tcov_merge(struct tst_covset *s, const char *rule, const char *path,
    const uint64_t *hits, const unsigned char *active, size_t n)
{
	struct tst_cov *c = tcov_entry(s, rule, path);

	if (c == NULL || tcov_grow(c, n) < 0) {
		s->incomplete = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		c->active[i] |= active[i];
		c->hits[i] += hits[i];
	}
}

/* Executable lines and lines run, of one rule or (c NULL) of all. */
void
tcov_counts(const struct tst_covset *s, const struct tst_cov *c,
    size_t *lines, size_t *hit)
{
	*lines = *hit = 0;
	for (size_t k = 0; k < s->n; k++) {
		const struct tst_cov *e = &s->v[k];

		if (c != NULL && e != c)
			continue;
		for (size_t i = 0; i < e->nlines; i++) {
			*lines += e->active[i];
			*hit += e->active[i] && e->hits[i] > 0;
		}
	}
}

static int
tcov_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tst_cov *)a)->path,
	    ((const struct tst_cov *)b)->path);
}

void
tcov_sort(struct tst_covset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, tcov_cmp);
}

/* An lcov tracefile: per rule file SF, DA for each executable line, LF and
 * LH. 0, or -1 with a message. */
int
tcov_write_lcov(const struct tst_covset *s, const char *path, char *err,
    size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		snprintf(err, len, "%s: cannot write the coverage file: %m",
		    path);
		return -1;
	}
	fputs("TN:\n", f);
	for (size_t k = 0; k < s->n; k++) {
		const struct tst_cov *c = &s->v[k];
		size_t lines, hit;

		fprintf(f, "SF:%s\n", c->path);
		for (size_t i = 0; i < c->nlines; i++)
			if (c->active[i])
				fprintf(f, "DA:%zu,%llu\n", i,
				    (unsigned long long)c->hits[i]);
		tcov_counts(s, c, &lines, &hit);
		fprintf(f, "LF:%zu\nLH:%zu\nend_of_record\n", lines, hit);
	}
	if (fclose(f) != 0) {
		snprintf(err, len, "%s: cannot write the coverage file: %m",
		    path);
		return -1;
	}
	return 0;
}

void
tcov_free(struct tst_covset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].rule);
		free(s->v[i].path);
		free(s->v[i].hits);
		free(s->v[i].active);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}
