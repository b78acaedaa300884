/*
 * tester_out.c: the results of `moonbox test` as a person reads them
 * (tests nested by describe, failures with their file:line and diff, a
 * summary; ✓/✗ and colour only on a terminal), as TAP version 13 (for
 * automake's tap-driver.sh and other harnesses) or as one JSON object;
 * the coverage table; and the exit status. Uses jansson, jsonmp.c,
 * utf8.c, tester_cov.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonmp.h"
#include "report.h"
#include "tester.h"
#include "utf8.h"

struct tout_totals {
	size_t	passed, failed, skipped, errors;
};

enum tout_color { C_NONE, C_GREEN, C_RED, C_YELLOW, C_DIM };

static const char *const tout_colors[] = {
	[C_NONE] = "", [C_GREEN] = "\033[32m", [C_RED] = "\033[31m",
	[C_YELLOW] = "\033[33m", [C_DIM] = "\033[2m",
};

static const struct tst_opts *O;

static void
tout_paint(enum tout_color c, const char *s)
{
	if (O->color && c != C_NONE)
		printf("%s%s\033[0m", tout_colors[c], s);
	else
		fputs(s, stdout);
}

/* Text from rules and tests, printed: control bytes but tab shown as '?'. */
static void
tout_text(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 && *s != '\t' ? '?' : *s);
}

static void
tout_count(const struct tst_file *f, size_t nfiles, struct tout_totals *t)
{
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < nfiles; i++) {
		t->errors += f[i].load_error != NULL;
		for (size_t k = 0; k < f[i].ntests; k++) {
			const struct tst_test *e = &f[i].tests[k];

			if (!e->selected)
				continue;
			if (!e->done)
				t->failed++;
			else if (e->status == TST_PASS)
				t->passed++;
			else if (e->status == TST_SKIP)
				t->skipped++;
			else
				t->failed++;
		}
	}
}

/* --- human --------------------------------------------------------------- */

static void
tout_indent(int n)
{
	printf("%*s", 2 * n, "");
}

/* Each line of a message, indented. */
static void
tout_lines(int depth, const char *s, enum tout_color c)
{
	while (s != NULL && *s != '\0') {
		const char *e = strchr(s, '\n');
		size_t n = e != NULL ? (size_t)(e - s) : strlen(s);
		char *line = strndup(s, n);

		tout_indent(depth);
		if (line != NULL) {
			if (O->color && c != C_NONE)
				fputs(tout_colors[c], stdout);
			tout_text(line);
			if (O->color && c != C_NONE)
				fputs("\033[0m", stdout);
		}
		putchar('\n');
		free(line);
		s = e != NULL ? e + 1 : NULL;
	}
}

static void
tout_usage_line(int depth, const struct tst_test *t)
{
	const struct tst_usage *u = &t->usage;
	char ins[32];

	if (u->invocations == 0)
		return;
	if (u->counted)
		snprintf(ins, sizeof ins, "%llu", (unsigned long long)
		    u->instructions);
	else
		snprintf(ins, sizeof ins, "-");
	tout_indent(depth);
	printf("usage: %llu invocation%s, at most %s instructions and %llu "
	    "bytes, %.3f ms in all\n", (unsigned long long)u->invocations,
	    u->invocations == 1 ? "" : "s", ins,
	    (unsigned long long)u->memory, (double)u->wall_us / 1000);
}

/* Print the describe headers the test is under that the last one was not. */
static int
tout_suites(const struct tst_test *t, const struct tst_test *prev)
{
	int same = 0;

	while (prev != NULL && same < t->nsuite && same < prev->nsuite &&
	    strcmp(t->suite[same], prev->suite[same]) == 0)
		same++;
	for (int i = same; i < t->nsuite; i++) {
		tout_indent(i + 1);
		tout_text(t->suite[i]);
		putchar('\n');
	}
	return t->nsuite + 1;
}

static void
tout_human_test(const struct tst_test *t, const struct tst_test *prev)
{
	int depth = tout_suites(t, prev);
	int pass = t->done && t->status == TST_PASS;
	int skip = t->done && t->status == TST_SKIP;
	char dur[48];

	tout_indent(depth);
	if (skip)
		tout_paint(C_YELLOW, O->tty ? "- " : "skip ");
	else if (pass)
		tout_paint(C_GREEN, O->tty ? "\u2713 " : "ok   ");
	else
		tout_paint(C_RED, O->tty ? "\u2717 " : "FAIL ");
	tout_text(t->test);
	snprintf(dur, sizeof dur, skip ? " (skipped)" : " (%.0f ms)",
	    (double)t->duration_us / 1000);
	tout_paint(C_DIM, dur);
	putchar('\n');
	if (!pass && !skip)
		tout_lines(depth + 2, t->message != NULL ? t->message :
		    "(no message)", C_RED);
	if (O->verbose) {
		for (size_t i = 0; i < t->nlog; i++)
			tout_lines(depth + 2, t->log[i], C_DIM);
		tout_usage_line(depth + 2, t);
	}
}

static void
tout_human_file(const struct tst_file *f)
{
	const struct tst_test *prev = NULL;
	size_t shown = 0;

	for (size_t i = 0; i < f->ntests; i++)
		shown += f->tests[i].selected;
	if (f->load_error == NULL && shown == 0)
		return;
	tout_text(f->path);
	putchar('\n');
	if (f->load_error != NULL) {
		tout_indent(1);
		tout_paint(C_RED, O->tty ? "\u2717 " : "FAIL ");
		printf("the file does not load\n");
		tout_lines(3, f->load_error, C_RED);
	}
	for (size_t i = 0; i < f->ntests; i++) {
		if (!f->tests[i].selected)
			continue;
		tout_human_test(&f->tests[i], prev);
		prev = &f->tests[i];
	}
}

static void
tout_cov_table(const struct tst_covset *c)
{
	size_t lines, hit, w = 8;

	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->v[i].path) > w)
			w = strlen(c->v[i].path);
	printf("\n%-*s %7s %7s %7s\n", (int)w, "coverage", "lines", "hit", "%");
	for (size_t i = 0; i < c->n; i++) {
		tcov_counts(c, &c->v[i], &lines, &hit);
		printf("%-*s %7zu %7zu %7.1f\n", (int)w, c->v[i].path, lines,
		    hit, lines ? 100.0 * (double)hit / (double)lines : 0.0);
	}
	tcov_counts(c, NULL, &lines, &hit);
	printf("%-*s %7zu %7zu %7.1f\n", (int)w, "total", lines, hit,
	    lines ? 100.0 * (double)hit / (double)lines : 0.0);
	if (c->incomplete)
		printf("(incomplete: a worker was lost before it sent its "
		    "counts)\n");
}

static void
tout_human(const struct tst_file *f, size_t n, const struct tst_covset *c,
    const struct tout_totals *t, double secs)
{
	char buf[64];

	for (size_t i = 0; i < n; i++)
		tout_human_file(&f[i]);
	putchar('\n');
	snprintf(buf, sizeof buf, "%zu passed", t->passed);
	tout_paint(t->passed > 0 ? C_GREEN : C_NONE, buf);
	snprintf(buf, sizeof buf, ", %zu failed", t->failed);
	tout_paint(t->failed > 0 ? C_RED : C_NONE, buf);
	snprintf(buf, sizeof buf, ", %zu skipped", t->skipped);
	tout_paint(t->skipped > 0 ? C_YELLOW : C_NONE, buf);
	if (t->errors > 0) {
		snprintf(buf, sizeof buf, ", %zu file%s did not load",
		    t->errors, t->errors == 1 ? "" : "s");
		tout_paint(C_RED, buf);
	}
	printf(" in %.2f s\n", secs);
	if (O->coverage)
		tout_cov_table(c);
}

/* --- TAP ----------------------------------------------------------------- */

/* A TAP description: one line, '#' escaped (it would start a directive). */
static void
tout_tap_text(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '#' || *s == '\\')
			putchar('\\');
		putchar((unsigned char)*s < 0x20 ? ' ' : *s);
	}
}

static void
tout_tap_yaml(const char *message, const char *at,
    const struct tst_test *t)
{
	printf("  ---\n");
	if (at != NULL)
		printf("  at: %s\n", at);
	if (t != NULL)
		printf("  duration_ms: %.3f\n", (double)t->duration_us / 1000);
	printf("  message: |\n");
	while (message != NULL && *message != '\0') {
		const char *e = strchr(message, '\n');
		size_t n = e != NULL ? (size_t)(e - message) : strlen(message);
		char *line = strndup(message, n);

		printf("    ");
		if (line != NULL)
			tout_text(line);
		putchar('\n');
		free(line);
		message = e != NULL ? e + 1 : NULL;
	}
	printf("  ...\n");
}

static void
tout_tap_test(const struct tst_file *f, const struct tst_test *t, size_t n)
{
	int pass = t->done && t->status == TST_PASS;
	int skip = t->done && t->status == TST_SKIP;
	char at[4200];

	printf("%s %zu - ", pass || skip ? "ok" : "not ok", n);
	tout_tap_text(f->path);
	printf(": ");
	tout_tap_text(t->name);
	if (skip)
		printf(" # SKIP");
	putchar('\n');
	snprintf(at, sizeof at, "%s:%u", f->path, t->line);
	if (!pass && !skip)
		tout_tap_yaml(t->message != NULL ? t->message : "", at, t);
	if (O->verbose)
		for (size_t i = 0; i < t->nlog; i++) {
			printf("# ");
			tout_text(t->log[i]);
			putchar('\n');
		}
}

static void
tout_tap(const struct tst_file *f, size_t nfiles, const struct tst_covset *c,
    const struct tout_totals *t, double secs)
{
	size_t n = 0, lines, hit;

	printf("TAP version 13\n");
	for (size_t i = 0; i < nfiles; i++) {
		if (f[i].load_error != NULL) {
			printf("not ok %zu - ", ++n);
			tout_tap_text(f[i].path);
			printf(": the file does not load\n");
			tout_tap_yaml(f[i].load_error, f[i].path, NULL);
		}
		for (size_t k = 0; k < f[i].ntests; k++)
			if (f[i].tests[k].selected)
				tout_tap_test(&f[i], &f[i].tests[k], ++n);
	}
	printf("1..%zu\n", n);
	printf("# %zu passed, %zu failed, %zu skipped in %.2f s\n", t->passed,
	    t->failed, t->skipped, secs);
	if (O->coverage)
		for (size_t i = 0; i <= c->n; i++) {
			tcov_counts(c, i < c->n ? &c->v[i] : NULL, &lines, &hit);
			printf("# coverage %s: %zu of %zu lines\n", i < c->n ?
			    c->v[i].path : "total", hit, lines);
		}
}

/* --- JSON ---------------------------------------------------------------- */

/* A JSON string of any bytes: a text that is not UTF-8 gets '?'s. */
static json_t *
tout_jstr(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	if (utf8_valid(s, n))
		return json_stringn(s, n);
	if ((copy = strdup(s)) == NULL)
		return json_null();
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

static json_t *
tout_jusage(const struct tst_usage *u)
{
	json_t *j = json_object();

	json_object_set_new(j, "invocations", json_integer((json_int_t)
	    u->invocations));
	json_object_set_new(j, "instructions", u->counted ?
	    json_integer((json_int_t)u->instructions) : json_null());
	json_object_set_new(j, "memory", json_integer((json_int_t)u->memory));
	json_object_set_new(j, "wall_ms", report_ms((double)u->wall_us / 1000));
	return j;
}

static json_t *
tout_jtest(const struct tst_file *f, const struct tst_test *t)
{
	json_t *j = json_object(), *suite = json_array(), *log = json_array();
	enum tst_status st = t->done ? t->status : TST_FAIL;

	for (int i = 0; i < t->nsuite; i++)
		json_array_append_new(suite, tout_jstr(t->suite[i]));
	for (size_t i = 0; i < t->nlog; i++)
		json_array_append_new(log, tout_jstr(t->log[i]));
	json_object_set_new(j, "file", tout_jstr(f->path));
	json_object_set_new(j, "name", tout_jstr(t->name));
	json_object_set_new(j, "suite", suite);
	json_object_set_new(j, "test", tout_jstr(t->test));
	json_object_set_new(j, "line", json_integer(t->line));
	json_object_set_new(j, "status", json_string(tmsg_status_name(st)));
	json_object_set_new(j, "message", tout_jstr(st == TST_FAIL ?
	    t->message : NULL));
	json_object_set_new(j, "duration_ms", report_ms((double)t->duration_us
	    / 1000));
	json_object_set_new(j, "usage", tout_jusage(&t->usage));
	json_object_set_new(j, "log", log);
	return j;
}

static json_t *
tout_jcov(const struct tst_covset *c)
{
	json_t *j = json_object(), *files = json_array();
	size_t lines, hit;

	for (size_t i = 0; i < c->n; i++) {
		json_t *e = json_object();

		tcov_counts(c, &c->v[i], &lines, &hit);
		json_object_set_new(e, "file", tout_jstr(c->v[i].path));
		json_object_set_new(e, "rule", tout_jstr(c->v[i].rule));
		json_object_set_new(e, "lines", json_integer((json_int_t)lines));
		json_object_set_new(e, "hit", json_integer((json_int_t)hit));
		json_array_append_new(files, e);
	}
	tcov_counts(c, NULL, &lines, &hit);
	json_object_set_new(j, "files", files);
	json_object_set_new(j, "lines", json_integer((json_int_t)lines));
	json_object_set_new(j, "hit", json_integer((json_int_t)hit));
	json_object_set_new(j, "complete", json_boolean(!c->incomplete));
	json_object_set_new(j, "lcov", tout_jstr(O->coverage_file));
	return j;
}

static void
tout_json(const struct tst_file *f, size_t nfiles, const struct tst_covset *c,
    const struct tout_totals *t, double secs)
{
	json_t *top = json_object(), *tests = json_array();
	json_t *errors = json_array(), *tot = json_object();
	char *text;

	for (size_t i = 0; i < nfiles; i++) {
		if (f[i].load_error != NULL) {
			json_t *e = json_object();

			json_object_set_new(e, "file", tout_jstr(f[i].path));
			json_object_set_new(e, "message",
			    tout_jstr(f[i].load_error));
			json_array_append_new(errors, e);
		}
		for (size_t k = 0; k < f[i].ntests; k++)
			if (f[i].tests[k].selected)
				json_array_append_new(tests,
				    tout_jtest(&f[i], &f[i].tests[k]));
	}
	json_object_set_new(tot, "passed", json_integer((json_int_t)t->passed));
	json_object_set_new(tot, "failed", json_integer((json_int_t)t->failed));
	json_object_set_new(tot, "skipped",
	    json_integer((json_int_t)t->skipped));
	json_object_set_new(tot, "errors", json_integer((json_int_t)t->errors));
	json_object_set_new(tot, "duration_ms", report_ms(secs * 1000));
	json_object_set_new(top, "tests", tests);
	json_object_set_new(top, "errors", errors);
	json_object_set_new(top, "totals", tot);
	if (O->coverage)
		json_object_set_new(top, "coverage", tout_jcov(c));
	text = jmp_dump(top);
	printf("%s\n", text != NULL ? text : "null");
	free(text);
	json_decref(top);
}

int
tout_report(const struct tst_opts *o, struct tst_file *f, size_t n,
    struct tst_covset *c, double secs)
{
	struct tout_totals t;

	O = o;
	tcov_sort(c);
	tout_count(f, n, &t);
	if (o->format == TST_TAP)
		tout_tap(f, n, c, &t, secs);
	else if (o->format == TST_JSON)
		tout_json(f, n, c, &t, secs);
	else
		tout_human(f, n, c, &t, secs);
	fflush(stdout);
	return t.errors > 0 ? 2 : t.failed > 0 ? 1 : 0;
}
