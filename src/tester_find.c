/*
 * tester_find.c: the test files that the arguments of `moonbox test` name,
 * and the rule beside each. A directory is searched for NAME_test.lua
 * files (entries starting with '.' skipped, symbolic links to directories
 * not followed, names in byte order); a test file stands for itself; a
 * rule file NAME.lua for NAME_test.lua beside it. The rule beside a test
 * file is NAME.lua, named by its path under the rules directory without
 * .lua (payments/fraud), as the daemon names it. The rules directory is
 * --rules, else the directory argument the file was found under, else
 * ".". Uses policy.c for names.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tester.h"

#define TST_SUFFIX	"_test.lua"
#define TST_MAX_FILES	10000

struct tf_list {
	struct tst_file	*v;
	size_t		 n;
	char		**real;		/* realpath of each, to skip repeats */
};

static int
tf_err(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "moonbox: bad_request: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return -1;
}

static int
tf_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

char *
tst_read(const char *path, size_t max, size_t *len, char *err, size_t elen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(err, elen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 2)) == NULL) {
		fclose(f);
		snprintf(err, elen, "%s: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		snprintf(err, elen, "%s: %s", path, n > max ? "larger than the "
		    "1M a rule or test file may have" : strerror(errno));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *
tf_join(const char *dir, const char *name)
{
	char *s;

	if (strcmp(dir, ".") == 0)
		return strdup(name);
	if (asprintf(&s, "%s%s%s", dir, tf_ends(dir, "/") ? "" : "/", name) < 0)
		return NULL;
	return s;
}

char *
tst_rule_path(const char *rules_dir, const char *rule)
{
	char *name, *path;

	if (asprintf(&name, "%s.lua", rule) < 0)
		return NULL;
	path = tf_join(rules_dir, name);
	free(name);
	return path;
}

/* The name of the rule file at path under the rules directory: its path
 * there without .lua; NULL if it is not under it. */
static char *
tf_rule_name(const char *rules_dir, const char *path)
{
	char dir[PATH_MAX], file[PATH_MAX], *name;
	size_t n;

	if (realpath(rules_dir, dir) == NULL || realpath(path, file) == NULL)
		return NULL;
	n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		n = 0;
	if (strncmp(file, dir, n) != 0 || file[n] != '/')
		return NULL;
	if ((name = strdup(file + n + 1)) == NULL)
		return NULL;
	name[strlen(name) - 4] = '\0';		/* ".lua" */
	if (!policy_rule_name_ok(name, strlen(name))) {
		free(name);
		return NULL;
	}
	return name;
}

/* The rule beside a test file: NAME.lua for NAME_test.lua. */
static int
tf_beside(struct tst_file *f)
{
	size_t n = strlen(f->path) - strlen(TST_SUFFIX);
	struct stat st;
	char *rule;

	if (asprintf(&rule, "%.*s.lua", (int)n, f->path) < 0)
		return -1;
	if (stat(rule, &st) < 0 || !S_ISREG(st.st_mode)) {
		free(rule);
		return 0;		/* its tests name the rules they use */
	}
	f->rule = tf_rule_name(f->rules_dir, rule);
	if (f->rule == NULL) {
		tf_err("%s is not under the rules directory %s, or its path "
		    "there is not a rule name: give the rules directory with "
		    "--rules DIR", rule, f->rules_dir);
		free(rule);
		return -1;
	}
	free(rule);
	return 0;
}

static int
tf_add(struct tf_list *l, const char *path, const char *rules_dir)
{
	char real[PATH_MAX], err[512], **rv;
	struct tst_file *v, *f;

	if (realpath(path, real) == NULL)
		return tf_err("%s: %s", path, strerror(errno));
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->real[i], real) == 0)
			return 0;
	if (l->n >= TST_MAX_FILES)
		return tf_err("%s: more than %s test files", path, "10000");
	if ((v = realloc(l->v, (l->n + 1) * sizeof *v)) == NULL ||
	    (l->v = v, rv = realloc(l->real, (l->n + 1) * sizeof *rv)) == NULL)
		return tf_err("%s: %s", path, "out of memory");
	l->real = rv;
	f = &l->v[l->n];
	memset(f, 0, sizeof *f);
	if ((f->path = strdup(path)) == NULL ||
	    (l->real[l->n] = strdup(real)) == NULL) {
		free(f->path);
		return tf_err("%s: %s", path, "out of memory");
	}
	l->n++;
	f->rules_dir = rules_dir;
	if ((f->source = tst_read(path, TST_MAX_SOURCE, &f->len, err,
	    sizeof err)) == NULL)
		return tf_err("%s%s", err, "");
	return tf_beside(f);
}

static int
tf_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted, hidden ones left out; -1 if it cannot be
 * read. */
static int
tf_names(const char *dir, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **nv;

	*n = 0;
	*out = NULL;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((nv = realloc(v, (*n + 1) * sizeof *v)) == NULL)
			break;
		v = nv;
		if ((v[*n] = strdup(e->d_name)) == NULL)
			break;
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof *v, tf_cmp);
	*out = v;
	return 0;
}

static int
tf_walk(struct tf_list *l, const char *dir, const char *rules_dir, int depth)
{
	size_t n;
	char **names;
	int st = 0;

	if (tf_names(dir, &names, &n) < 0)
		return depth == 0 ? tf_err("%s: %s", dir, strerror(errno)) : 0;
	for (size_t i = 0; i < n; i++) {
		char *path = tf_join(dir, names[i]);
		struct stat s;

		if (st == 0 && path != NULL && lstat(path, &s) == 0) {
			if (S_ISDIR(s.st_mode) && depth < 32)
				st = tf_walk(l, path, rules_dir, depth + 1);
			else if (tf_ends(names[i], TST_SUFFIX) &&
			    stat(path, &s) == 0 && S_ISREG(s.st_mode))
				st = tf_add(l, path, rules_dir);
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return st;
}

/* One argument: a directory, a test file, or a rule file. */
static int
tf_arg(const struct tst_opts *o, struct tf_list *l, const char *path)
{
	struct stat s;
	char *test;
	int st;

	if (stat(path, &s) < 0)
		return tf_err("%s: %s", path, strerror(errno));
	if (S_ISDIR(s.st_mode))
		return tf_walk(l, path, o->rules_dir != NULL ? o->rules_dir :
		    path, 0);
	if (tf_ends(path, TST_SUFFIX))
		return tf_add(l, path, o->rules_dir != NULL ? o->rules_dir : ".");
	if (!tf_ends(path, ".lua"))
		return tf_err("%s: not a directory, a test file (NAME_test.lua) "
		    "or a rule file (NAME.lua)%s", path, "");
	if (asprintf(&test, "%.*s%s", (int)(strlen(path) - 4), path,
	    TST_SUFFIX) < 0)
		return -1;
	if (stat(test, &s) < 0) {
		tf_err("%s has no tests: %s does not exist", path, test);
		free(test);
		return -1;
	}
	st = tf_add(l, test, o->rules_dir != NULL ? o->rules_dir : ".");
	free(test);
	return st;
}

int
tst_find(int argc, char **argv, struct tst_opts *o, struct tst_file **out,
    size_t *nout)
{
	static char *dot[] = { ".", NULL };
	struct tf_list l = { NULL, 0, NULL };
	int st = 0;

	if (argc == 0) {
		argc = 1;
		argv = dot;
	}
	for (int i = 0; i < argc && st == 0; i++)
		st = tf_arg(o, &l, argv[i]);
	for (size_t i = 0; i < l.n; i++)
		free(l.real[i]);
	free(l.real);
	if (st == 0 && l.n == 0)
		st = tf_err("no test files (NAME_test.lua) in %s%s", argv[0],
		    argc > 1 ? " and the other paths" : "");
	if (st < 0) {
		tst_files_free(l.v, l.n);
		return -1;
	}
	*out = l.v;
	*nout = l.n;
	return 0;
}

void
tst_test_free(struct tst_test *t)
{
	free(t->name);
	for (int i = 0; i < t->nsuite; i++)
		free(t->suite[i]);
	free(t->suite);
	free(t->test);
	free(t->message);
	for (size_t i = 0; i < t->nlog; i++)
		free(t->log[i]);
	free(t->log);
}

void
tst_files_free(struct tst_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].ntests; k++)
			tst_test_free(&v[i].tests[k]);
		free(v[i].tests);
		free(v[i].path);
		free(v[i].source);
		free(v[i].rule);
		free(v[i].load_error);
	}
	free(v);
}
