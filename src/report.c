/*
 * report.c: renders outcomes for moonbox(1) and the tests: the result as
 * JSON, the --json object, the log and the usage line. Uses jsonmp.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conv.h"
#include "utf8.h"
#include "jsonmp.h"
#include "report.h"

static json_t *
report_tree(struct inv_outcome *o)
{
	char why[160];
	json_t *j;

	j = jmp_tree(o->result.data, o->result.size, why, sizeof why);
	if (j == NULL)
		inv_fail(o, MB_OUTPUT, "result: %s", why);
	return j;
}

static char *
report_dump(json_t *j)
{
	char *s;

	if (j == NULL)
		return NULL;
	s = jmp_dump(j);
	json_decref(j);
	return s;
}

char *
report_result(struct inv_outcome *o)
{
	return report_dump(report_tree(o));
}

/* A log line as a JSON string: bytes that are not UTF-8 become '?'. */
static json_t *
report_line(const char *s, size_t n)
{
	json_t *j;
	char *copy;

	if (utf8_valid(s, n))
		return json_stringn(s, n);
	if ((copy = malloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		copy[i] = (s[i] & 0x80) ? '?' : s[i];
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

/* The error object. Its message may quote a file name or a rule's error
 * value, any bytes: json_pack would fail on bad UTF-8 and drop the object. */
static json_t *
report_error(const struct inv_outcome *o)
{
	json_t *e = json_object();

	if (e == NULL)
		return NULL;
	json_object_set_new(e, "kind", json_string(kind_name(o->kind)));
	json_object_set_new(e, "message",
	    report_line(o->message, strlen(o->message)));
	return e;
}

/* Milliseconds to the microsecond. */
json_t *
report_ms(double ms)
{
	return json_real(round(ms * 1000) / 1000);
}

char *
report_json(struct inv_outcome *o)
{
	json_t *top = json_object(), *usage = json_object(), *log = json_array();
	json_t *result = NULL;
	const char *s;
	size_t at = 0, n;

	if (top == NULL || usage == NULL || log == NULL) {
		json_decref(top), json_decref(usage), json_decref(log);
		return NULL;
	}
	if (o->kind == MB_OK)
		result = report_tree(o);
	json_object_set_new(top, "ok", json_boolean(o->kind == MB_OK));
	if (o->kind == MB_OK)
		json_object_set_new(top, "result", result);
	else
		json_object_set_new(top, "error", report_error(o));
	json_object_set_new(usage, "instructions", o->counted ?
	    json_integer((json_int_t)o->instructions) : json_null());
	json_object_set_new(usage, "memory", json_integer((json_int_t)o->memory));
	json_object_set_new(usage, "cpu_ms", report_ms(o->cpu_ms));
	json_object_set_new(usage, "wall_ms", report_ms(o->wall_ms));
	json_object_set_new(usage, "calls", json_integer((json_int_t)o->calls));
	json_object_set_new(usage, "log_dropped",
	    json_integer((json_int_t)o->log.dropped));
	json_object_set_new(top, "usage", usage);
	while (lim_log_next(&(struct lim){ .log = o->log }, &at, &s, &n))
		json_array_append_new(log, report_line(s, n));
	json_object_set_new(top, "log", log);
	return report_dump(top);
}

void
report_log(FILE *f, const struct inv_outcome *o)
{
	struct lim m = { .log = o->log };
	const char *s;
	size_t at = 0, n;

	while (lim_log_next(&m, &at, &s, &n)) {
		fwrite(s, 1, n, f);	/* "%.*s" would stop at a NUL */
		fputc('\n', f);
	}
	if (o->log.dropped > 0)
		fprintf(f, "moonbox: %u log lines dropped over the log limit\n",
		    o->log.dropped);
}

void
report_stats(FILE *f, const struct inv_outcome *o)
{
	char ins[32];

	if (o->counted)
		snprintf(ins, sizeof ins, "%llu",
		    (unsigned long long)o->instructions);
	else
		snprintf(ins, sizeof ins, "-");
	fprintf(f, "moonbox: usage: instructions=%s memory=%zu cpu=%.3fms "
	    "wall=%.3fms\n", ins, o->memory, o->cpu_ms, o->wall_ms);
}
