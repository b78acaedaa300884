/*
 * audit.c: one JSON line per capability decision, allowed or denied:
 * time, invocation, pool, rule, capability, arguments (a summary: keys,
 * URLs, header names and sizes; never values or bodies), decision and the
 * deciding policy line, outcome, duration and bytes. Secret values given to
 * the invocation are redacted wherever they appear. Lines are written
 * whole with write(2); a slow disk slows the broker down (back-pressure)
 * rather than losing records, and a failed write makes the broker refuse
 * every further call until a reload: no unaudited decision. Uses jansson
 * and jsonmp.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "brk.h"
#include "jsonmp.h"
#include "log.h"

int
audit_open(const char *path, char *err, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		snprintf(err, len, "%s: %s", path, strerror(errno));
	return fd;
}

static json_t *
audit_time(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[40], out[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof out, "%s.%03ldZ", buf, ts.tv_nsec / 1000000);
	return json_string(out);
}

static const char *
audit_decision(const struct br_call *c)
{
	if (c->cap->kind < 0)
		return "not-needed";
	if (c->decision.line == 0 && c->decision.why[0] == '\0')
		return "none";		/* refused before the policy */
	return c->decision.allowed ? "allowed" : "denied";
}

static json_t *
audit_line(const struct br_call *c)
{
	char buf[4200 + 32];

	if (c->decision.line <= 0)
		return json_null();
	snprintf(buf, sizeof buf, "%s:%d", B.policy.path, c->decision.line);
	return json_string(buf);
}

static double
audit_ms(const struct br_call *c)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - c->t0.tv_sec) * 1e3 +
	    (t.tv_nsec - c->t0.tv_nsec) / 1e6;
}

/* Replace every occurrence of s in text (in place, same length or
 * shorter) with the marker. */
static void
audit_redact_one(char *text, const char *s)
{
	static const char mark[] = "[redacted]";
	size_t n = strlen(s), m = sizeof mark - 1;
	char *p;

	if (n == 0)
		return;
	while ((p = strstr(text, s)) != NULL) {
		size_t keep = n < m ? n : m;

		memcpy(p, mark, keep);
		memmove(p + keep, p + n, strlen(p + n) + 1);
	}
}

static void
audit_redact(const struct br_worker *w, char *text)
{
	for (int i = 0; w != NULL && i < w->ngiven; i++)
		audit_redact_one(text, w->given[i]);
}

static json_t *
audit_args(const struct br_call *c)
{
	json_t *j = NULL;

	if (c->args.size > 0)
		j = jmp_tree(c->args.data, c->args.size, NULL, 0);
	return j != NULL ? j : json_object();
}

/* The decisions, counted per capability for the master's metrics:
 * allowed (or needing no grant), denied, refused before the policy. */
static void
audit_count(const struct br_call *c)
{
	const char *d = audit_decision(c);
	ptrdiff_t i = c->cap - brk_caps;

	if (i < 0 || i >= BRK_MAX_CAPS || c->cap->cap[0] == '?')
		return;
	if (strcmp(d, "allowed") == 0 || strcmp(d, "not-needed") == 0)
		B.counts[i][0]++;
	else if (strcmp(d, "denied") == 0)
		B.counts[i][1]++;
	else
		B.counts[i][2]++;
}

void
audit_record(const struct br_call *c, enum mb_kind k, const char *msg)
{
	const struct br_worker *w = c->w;
	char cap[80];
	json_t *o;
	char *text;
	size_t n;

	audit_count(c);
	snprintf(cap, sizeof cap, "%s.%s", c->cap->cap, c->cap->method);
	o = json_pack("{s:o,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:s,s:s,s:s,s:f,"
	    "s:I,s:I}",
	    "time", audit_time(),
	    "invocation", c->inv,
	    "pool", c->cc.pool != NULL ? c->cc.pool : "",
	    "rule", c->cc.rule != NULL ? c->cc.rule : "",
	    "capability", cap,
	    "arguments", audit_args(c),
	    "decision", audit_decision(c),
	    "line", audit_line(c),
	    "why", c->decision.why,
	    "outcome", kind_name(k),
	    "message", msg != NULL ? msg : "",
	    "duration_ms", audit_ms(c),
	    "bytes_in", (json_int_t)c->bytes_in,
	    "bytes_out", (json_int_t)c->bytes_out);
	if (o == NULL || (text = jmp_dump(o)) == NULL) {
		json_decref(o);
		B.audit_broken = 1;
		log_err("broker: cannot build an audit record; refusing calls");
		return;
	}
	json_decref(o);
	audit_redact(w, text);
	n = strlen(text);
	text[n] = '\n';
	if (write(B.audit_fd, text, n + 1) != (ssize_t)(n + 1)) {
		B.audit_broken = 1;
		log_err("broker: cannot write the audit log %s: %s; refusing "
		    "capability calls until a reload", B.set.audit,
		    strerror(errno));
	}
	free(text);
}
