/*
 * conf.c: configuration text to a tree of statements, and the tree through
 * tables of keywords (conf.h). The grammar is lua-stdlib/conf.lua, run with
 * LPeg in a Lua state of its own that lives for one parse; only trusted
 * operator files go through it, never rule source. Uses units.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>
#include <lua-lpeg.h>

#include "conf.h"
#include "embedded.h"
#include "sandbox.h"
#include "units.h"

int
conf_fail(struct conf_err *e, int line, int col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(e->buf, e->len, "%s:%d:%d: %s", e->path, line, col, msg);
	else
		snprintf(e->buf, e->len, "%s: %s", e->path, msg);
	return -1;
}

struct conf_build {
	const char	*text;
	size_t		 len;
	size_t		*starts;	/* offset of each line */
	int		 nlines;
	int		 failed;
};

static int
conf_index_lines(struct conf_build *b)
{
	int n = 1;

	for (size_t i = 0; i < b->len; i++)
		n += b->text[i] == '\n';
	if ((b->starts = malloc((size_t)n * sizeof *b->starts)) == NULL)
		return -1;
	b->starts[0] = 0;
	b->nlines = 1;
	for (size_t i = 0; i < b->len; i++)
		if (b->text[i] == '\n')
			b->starts[b->nlines++] = i + 1;
	return 0;
}

/* Line and column (both from 1) of byte pos (from 1) of the text. */
static void
conf_where(const struct conf_build *b, lua_Integer pos, int *line, int *col)
{
	size_t off = pos > 0 ? (size_t)pos - 1 : 0;
	int lo = 0, hi = b->nlines - 1;

	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (b->starts[mid] <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	*line = lo + 1;
	*col = (int)(off - b->starts[lo]) + 1;
}

static char *
conf_field_str(lua_State *L, int idx, const char *name)
{
	const char *s;
	char *copy;

	lua_getfield(L, idx, name);
	s = lua_tostring(L, -1);
	copy = strdup(s != NULL ? s : "");
	lua_pop(L, 1);
	return copy;
}

static lua_Integer
conf_field_int(lua_State *L, int idx, const char *name)
{
	lua_Integer v;

	lua_getfield(L, idx, name);
	v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

static void
conf_build_args(lua_State *L, int idx, struct conf_build *b,
    struct conf_stmt *s)
{
	static const struct { const char *name; enum conf_kind kind; } kinds[] = {
		{ "string", CONF_STRING }, { "number", CONF_NUMBER },
		{ "word", CONF_WORD },
	};

	s->nargs = (int)lua_rawlen(L, idx);
	if ((s->args = calloc((size_t)s->nargs + 1, sizeof *s->args)) == NULL) {
		b->failed = 1;
		s->nargs = 0;
		return;
	}
	for (int i = 0; i < s->nargs; i++) {
		struct conf_arg *a = &s->args[i];
		char *kind;

		lua_rawgeti(L, idx, i + 1);
		a->text = conf_field_str(L, -1, "text");
		kind = conf_field_str(L, -1, "kind");
		for (size_t k = 0; kind != NULL && k < 3; k++)
			if (strcmp(kind, kinds[k].name) == 0)
				a->kind = kinds[k].kind;
		conf_where(b, conf_field_int(L, -1, "pos"),
		    &a->line, &a->col);
		b->failed |= a->text == NULL || kind == NULL;
		free(kind);
		lua_pop(L, 1);
	}
}

static void conf_build_list(lua_State *, int, struct conf_build *,
    struct conf_stmt **, int *);

static void
conf_build_stmt(lua_State *L, int idx, struct conf_build *b,
    struct conf_stmt *s)
{
	s->name = conf_field_str(L, idx, "name");
	b->failed |= s->name == NULL;
	conf_where(b, conf_field_int(L, idx, "pos"), &s->line,
	    &s->col);
	lua_getfield(L, idx, "args");
	conf_build_args(L, lua_gettop(L), b, s);
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "block") == LUA_TTABLE)
		conf_build_list(L, lua_gettop(L), b, &s->block, &s->nblock);
	lua_pop(L, 1);
}

static void
conf_build_list(lua_State *L, int idx, struct conf_build *b,
    struct conf_stmt **out, int *n)
{
	*n = (int)lua_rawlen(L, idx);
	/* One more than needed: an empty block is not NULL. */
	if ((*out = calloc((size_t)*n + 1, sizeof **out)) == NULL) {
		b->failed = 1;
		*n = 0;
		return;
	}
	for (int i = 0; i < *n; i++) {
		lua_rawgeti(L, idx, i + 1);
		conf_build_stmt(L, lua_gettop(L), b, &(*out)[i]);
		lua_pop(L, 1);
	}
}

/* The parsing state: just what the grammar needs. */
static lua_State *
conf_state(void)
{
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base }, { LUA_TABLIBNAME, luaopen_table },
		{ "lpeg", luaopen_lpeg }, { NULL, NULL }
	};
	return sbx_trusted_new(libs);
}

/* The grammar's error { pos, expected } as a message. */
static void
conf_syntax_error(lua_State *L, const struct conf_build *b,
    struct conf_err *e)
{
	int line, col;

	if (lua_type(L, -1) == LUA_TTABLE) {
		char *what = conf_field_str(L, -1, "expected");

		conf_where(b, conf_field_int(L, -1, "pos"), &line, &col);
		conf_fail(e, line, col, "syntax error: expected %s",
		    what != NULL ? what : "something else");
		free(what);
	} else
		conf_fail(e, 0, 0, "cannot parse: %s", lua_tostring(L, -1));
}

/* Run the grammar over the text in L and build the C tree from its result. */
static int
conf_parse_tree(lua_State *L, const struct embedded *g, struct conf_build *b,
    struct conf_file *f, struct conf_err *e)
{
	if (luaL_loadbufferx(L, g->source, g->len, "=conf", "t") != LUA_OK)
		return conf_fail(e, 0, 0, "grammar: %s", lua_tostring(L, -1));
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, "lpeg");
	lua_remove(L, -2);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK)
		return conf_fail(e, 0, 0, "grammar: %s", lua_tostring(L, -1));
	lua_pushlstring(L, b->text, b->len);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		conf_syntax_error(L, b, e);
		return -1;
	}
	conf_build_list(L, lua_gettop(L), b, &f->stmts, &f->nstmts);
	f->path = strdup(e->path);
	if (b->failed || f->path == NULL) {
		conf_free(f);
		return conf_fail(e, 0, 0, "out of memory");
	}
	return 0;
}

int
conf_parse(const char *path, const char *text, size_t len,
    struct conf_file *f, char *err, size_t errlen)
{
	const struct embedded *g = embedded_find("conf");
	struct conf_err e = { path, err, errlen };
	struct conf_build b = { .text = text, .len = len };
	lua_State *L;
	int r;

	memset(f, 0, sizeof *f);
	if (memchr(text, '\0', len) != NULL)
		return conf_fail(&e, 0, 0, "the file holds a NUL byte");
	if (g == NULL || conf_index_lines(&b) < 0 || (L = conf_state()) == NULL) {
		free(b.starts);
		return conf_fail(&e, 0, 0, "out of memory");
	}
	r = conf_parse_tree(L, g, &b, f, &e);
	lua_close(L);
	free(b.starts);
	return r;
}

int
conf_read(const char *path, struct conf_file *f, char *err, size_t errlen)
{
	struct conf_err e = { path, err, errlen };
	FILE *fp = fopen(path, "r");
	char *text;
	size_t n;
	int r;

	if (fp == NULL)
		return conf_fail(&e, 0, 0, "%s", strerror(errno));
	if ((text = malloc(CONF_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		return conf_fail(&e, 0, 0, "out of memory");
	}
	n = fread(text, 1, CONF_FILE_MAX + 1, fp);
	if (ferror(fp) || n > CONF_FILE_MAX) {
		r = conf_fail(&e, 0, 0, "%s", ferror(fp) ? strerror(errno) :
		    "larger than 1 MiB");
	} else
		r = conf_parse(path, text, n, f, err, errlen);
	free(text);
	fclose(fp);
	return r;
}

static void
conf_free_list(struct conf_stmt *s, int n)
{
	for (int i = 0; s != NULL && i < n; i++) {
		for (int k = 0; k < s[i].nargs; k++)
			free(s[i].args[k].text);
		free(s[i].args);
		free(s[i].name);
		conf_free_list(s[i].block, s[i].nblock);
	}
	free(s);
}

void
conf_free(struct conf_file *f)
{
	conf_free_list(f->stmts, f->nstmts);
	free(f->path);
	memset(f, 0, sizeof *f);
}

static int
conf_check_shape(const struct conf_stmt *s, const struct conf_key *k,
    struct conf_err *e)
{
	if (s->nargs < k->minargs || (k->maxargs >= 0 && s->nargs > k->maxargs)) {
		if (k->minargs == k->maxargs)
			return conf_fail(e, s->line, s->col, "'%s' takes %d "
			    "argument%s", s->name, k->minargs,
			    k->minargs == 1 ? "" : "s");
		if (k->maxargs < 0)
			return conf_fail(e, s->line, s->col, "'%s' takes at "
			    "least %d argument%s", s->name, k->minargs,
			    k->minargs == 1 ? "" : "s");
		return conf_fail(e, s->line, s->col, "'%s' takes %d to %d "
		    "arguments", s->name, k->minargs, k->maxargs);
	}
	if (k->block && s->block == NULL)
		return conf_fail(e, s->line, s->col, "'%s' needs a block "
		    "{ ... }", s->name);
	if (!k->block && s->block != NULL)
		return conf_fail(e, s->line, s->col, "'%s' takes no block",
		    s->name);
	return 0;
}

int
conf_apply(const struct conf_stmt *stmts, int n, const struct conf_key *keys,
    void *ctx, struct conf_err *e)
{
	for (int i = 0; i < n; i++) {
		const struct conf_stmt *s = &stmts[i];
		const struct conf_key *k;

		for (k = keys; k->name != NULL; k++)
			if (strcmp(k->name, s->name) == 0)
				break;
		if (k->name == NULL)
			return conf_fail(e, s->line, s->col, "unknown keyword "
			    "'%s'", s->name);
		if (conf_check_shape(s, k, e) < 0 || k->apply(ctx, s, e) < 0)
			return -1;
	}
	return 0;
}

int
conf_fail_arg(struct conf_err *e, const struct conf_stmt *s, int i,
    const char *what)
{
	const struct conf_arg *a = &s->args[i];

	return conf_fail(e, a->line, a->col, "'%s': %s: %s", s->name, a->text,
	    what);
}

int
conf_str(struct conf_err *e, const struct conf_stmt *s, int i,
    const char **out)
{
	if (s->args[i].kind == CONF_NUMBER)
		return conf_fail_arg(e, s, i, "expected a name or a string");
	*out = s->args[i].text;
	return 0;
}

int
conf_size(struct conf_err *e, const struct conf_stmt *s, int i, size_t *out)
{
	if (s->args[i].kind != CONF_NUMBER ||
	    units_size(s->args[i].text, out) < 0)
		return conf_fail_arg(e, s, i, "expected a size like 64K or 16M");
	return 0;
}

int
conf_time(struct conf_err *e, const struct conf_stmt *s, int i,
    uint64_t *out)
{
	if (s->args[i].kind != CONF_NUMBER ||
	    units_time_us(s->args[i].text, out) < 0)
		return conf_fail_arg(e, s, i,
		    "expected a time like 200ms or 2s");
	return 0;
}

int
conf_count(struct conf_err *e, const struct conf_stmt *s, int i,
    uint64_t *out)
{
	if (s->args[i].kind != CONF_NUMBER ||
	    units_count(s->args[i].text, out) < 0)
		return conf_fail_arg(e, s, i, "expected a whole number");
	return 0;
}

int
conf_mode(struct conf_err *e, const struct conf_stmt *s, int i, mode_t *out)
{
	const char *t = s->args[i].text;
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(t, &end, 8);
	if (s->args[i].kind != CONF_NUMBER || *end != '\0' || errno != 0 ||
	    v > 07777)
		return conf_fail_arg(e, s, i, "expected an octal mode like "
		    "0660");
	*out = (mode_t)v;
	return 0;
}

static int
conf_private_file(const char *path, const char *who, char *err, size_t len)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return snprintf(err, len, "%s: %s", path, strerror(errno)), -1;
	if ((st.st_mode & 077) != 0)
		return snprintf(err, len, "%s: readable by others (mode %04o): "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 07777)), -1;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return snprintf(err, len, "%s: owned by uid %u, neither root "
		    "nor %s", path, (unsigned)st.st_uid, who), -1;
	return 0;
}

int
conf_apply_private(const char *path, const char *who,
    const struct conf_key *keys, void *ud, char *err, size_t len)
{
	struct conf_err e = { path, err, len };
	struct conf_file f;
	int r;

	if (conf_private_file(path, who, err, len) < 0 ||
	    conf_read(path, &f, err, len) < 0)
		return -1;
	r = conf_apply(f.stmts, f.nstmts, keys, ud, &e);
	for (int i = 0; i < f.nstmts; i++)	/* the tree held values too */
		for (int k = 0; k < f.stmts[i].nargs; k++)
			explicit_bzero(f.stmts[i].args[k].text,
			    strlen(f.stmts[i].args[k].text));
	conf_free(&f);
	return r;
}
