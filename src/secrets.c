/*
 * secrets.c: the secrets file, `secret NAME "value"` lines in the syntax of
 * conf.c. The file must be readable by its owner only, and its owner root
 * or the daemon's user: a secrets file others can read is refused, not
 * used. Values are wiped from memory when replaced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "brk.h"
#include "conf.h"

static int
secrets_add(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct br_secrets *s = ud;
	struct br_secret *v;
	const char *name, *value;

	if (conf_str(e, st, 0, &name) < 0)
		return -1;
	if (st->args[1].kind != CONF_STRING)
		return conf_fail_arg(e, st, 1, "a secret's value is a quoted "
		    "string");
	value = st->args[1].text;
	if (secrets_find(s, name) != NULL)
		return conf_fail_arg(e, st, 0, "this secret is already defined");
	if ((v = realloc(s->v, (size_t)(s->n + 1) * sizeof *v)) == NULL)
		return conf_fail(e, 0, 0, "out of memory");
	s->v = v;
	v[s->n].name = strdup(name);
	v[s->n].value = strdup(value);
	if (v[s->n].name == NULL || v[s->n].value == NULL) {
		free(v[s->n].name);
		free(v[s->n].value);
		return conf_fail(e, 0, 0, "out of memory");
	}
	s->n++;
	return 0;
}

static const struct conf_key secrets_keys[] = {
	{ "secret",	2, 2, 0, secrets_add },
	{ NULL, 0, 0, 0, NULL }
};

static int
secrets_check_file(const char *path, char *err, size_t len)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return snprintf(err, len, "%s: %s", path, strerror(errno)), -1;
	if ((st.st_mode & 077) != 0)
		return snprintf(err, len, "%s: readable by others (mode %04o): "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 07777)), -1;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return snprintf(err, len, "%s: owned by uid %u, neither root "
		    "nor the daemon's user", path, (unsigned)st.st_uid), -1;
	return 0;
}

int
secrets_load(const char *path, struct br_secrets *s, char *err, size_t len)
{
	struct conf_err e = { path, err, len };
	struct conf_file f;
	int r;

	memset(s, 0, sizeof *s);
	if (secrets_check_file(path, err, len) < 0 ||
	    conf_read(path, &f, err, len) < 0)
		return -1;
	r = conf_apply(f.stmts, f.nstmts, secrets_keys, s, &e);
	for (int i = 0; i < f.nstmts; i++)	/* the tree held values too */
		for (int k = 0; k < f.stmts[i].nargs; k++)
			explicit_bzero(f.stmts[i].args[k].text,
			    strlen(f.stmts[i].args[k].text));
	conf_free(&f);
	if (r < 0)
		secrets_free(s);
	return r;
}

void
secrets_free(struct br_secrets *s)
{
	for (int i = 0; i < s->n; i++) {
		explicit_bzero(s->v[i].value, strlen(s->v[i].value));
		free(s->v[i].value);
		free(s->v[i].name);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

const char *
secrets_find(const struct br_secrets *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return s->v[i].value;
	return NULL;
}
