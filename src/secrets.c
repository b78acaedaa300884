/*
 * secrets.c: the secrets file, `secret NAME "value"` lines in the syntax of
 * conf.c. The file must be readable by its owner only, and its owner root
 * or the daemon's user: a secrets file others can read is refused, not
 * used. Values are wiped from memory when replaced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
secrets_load(const char *path, struct br_secrets *s, char *err, size_t len)
{
	int r;

	memset(s, 0, sizeof *s);
	r = conf_apply_private(path, "the daemon's user", secrets_keys, s, err,
	    len);
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
