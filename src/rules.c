/*
 * rules.c: walks the rules directory and reads every rule file into one
 * sorted table. A name is the file's path under the directory without
 * ".lua"; test files (NAME_test.lua) and hidden entries are skipped.
 * Uses policy.c for names and pools.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "rules.h"

struct rules_walk {
	struct ruleset		*set;
	const struct policy	*policy;
	char			*err;
	size_t			 len;
};

static int
rules_fail(struct rules_walk *w, const char *path, const char *what)
{
	snprintf(w->err, w->len, "%s: %s", path, what);
	return -1;
}

static int
rules_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static char *
rules_read(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > RULES_MAX_SOURCE) {
		errno = st.st_size > RULES_MAX_SOURCE ? EFBIG : EINVAL;
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			errno = r == 0 ? EIO : errno;
			return NULL;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

static int
rules_add(struct rules_walk *w, const char *path, const char *name)
{
	struct ruleset *s = w->set;
	struct rule *r;
	int fd;

	if (!policy_rule_name_ok(name, strlen(name)))
		return rules_fail(w, path, "not a valid rule name (letters, "
		    "digits, '_', '-' and '.', in directories)");
	if (s->n >= RULES_MAX)
		return rules_fail(w, path, "too many rules");
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct rule *p = realloc(s->rules, cap * sizeof *p);

		if (p == NULL)
			return rules_fail(w, path, strerror(errno));
		s->rules = p;
		s->cap = cap;
	}
	r = &s->rules[s->n];
	memset(r, 0, sizeof *r);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return rules_fail(w, path, strerror(errno));
	r->source = rules_read(fd, &r->len);
	close(fd);
	if (r->source == NULL)
		return rules_fail(w, path, errno == EFBIG ? "larger than "
		    "the 1 MiB a rule may have" : strerror(errno));
	if ((r->name = strdup(name)) == NULL) {
		free(r->source);
		return rules_fail(w, path, strerror(errno));
	}
	r->pool = policy_pool_for(w->policy, name);
	s->n++;
	return 0;
}

static int rules_walk_dir(struct rules_walk *, const char *, const char *,
    int);

/* One directory entry: a subdirectory, a rule file, or something skipped. */
static int
rules_entry(struct rules_walk *w, const char *dir, const char *prefix,
    const char *ent, int depth)
{
	char path[4096], name[1024];
	struct stat st;

	if (ent[0] == '.')
		return 0;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, ent) >=
	    sizeof path || (size_t)snprintf(name, sizeof name, "%s%s", prefix,
	    ent) >= sizeof name)
		return rules_fail(w, dir, "path too long");
	if (stat(path, &st) < 0)
		return rules_fail(w, path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		strcat(name, "/");
		return rules_walk_dir(w, path, name, depth + 1);
	}
	if (!S_ISREG(st.st_mode) || !rules_ends_with(ent, ".lua") ||
	    rules_ends_with(ent, "_test.lua"))
		return 0;
	name[strlen(name) - 4] = '\0';
	return rules_add(w, path, name);
}

static int
rules_walk_dir(struct rules_walk *w, const char *dir, const char *prefix,
    int depth)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (depth > RULES_MAX_DEPTH)
		return rules_fail(w, dir, "directories nested too deep");
	if ((d = opendir(dir)) == NULL)
		return rules_fail(w, dir, strerror(errno));
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL)
		r = rules_entry(w, dir, prefix, de->d_name, depth);
	if (r == 0 && errno != 0)
		r = rules_fail(w, dir, strerror(errno));
	closedir(d);
	return r;
}

static int
rules_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rule *)a)->name,
	    ((const struct rule *)b)->name);
}

int
ruleset_load(const char *dir, const struct policy *p, struct ruleset *s,
    char *err, size_t len)
{
	struct rules_walk w = { s, p, err, len };

	memset(s, 0, sizeof *s);
	if (rules_walk_dir(&w, dir, "", 0) < 0) {
		ruleset_free(s);
		return -1;
	}
	if (s->n > 0)
		qsort(s->rules, s->n, sizeof *s->rules, rules_cmp);
	return 0;
}

const struct rule *
ruleset_find(const struct ruleset *s, const char *name)
{
	struct rule key = { .name = (char *)name };

	if (s->n == 0)
		return NULL;
	return bsearch(&key, s->rules, s->n, sizeof *s->rules, rules_cmp);
}

void
ruleset_free(struct ruleset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rules[i].name);
		free(s->rules[i].source);
	}
	free(s->rules);
	memset(s, 0, sizeof *s);
}
