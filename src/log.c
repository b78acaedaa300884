/*
 * log.c: one function that writes a log line, to standard error with a
 * timestamp when the daemon runs in the foreground, to syslog when not;
 * as text, or as one JSON object a line (jansson) for log collectors.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "log.h"

static const struct {
	const char	*name;
	int		 syslog_priority;
} log_levels[] = {
	[LOG_LV_ERR]	= { "error",	LOG_ERR },
	[LOG_LV_WARN]	= { "warning",	LOG_WARNING },
	[LOG_LV_INFO]	= { "info",	LOG_INFO },
	[LOG_LV_DEBUG]	= { "debug",	LOG_DEBUG },
};

static int log_to_stderr = 1;
static int log_json;
static int log_facility = LOG_DAEMON;
static int log_opened;
static enum log_level log_threshold = LOG_LV_INFO;
static const char *log_ident = "moonboxd";

static void
log_open(void)
{
	if (log_opened)
		closelog();
	openlog(log_ident, LOG_PID | LOG_NDELAY, log_facility);
	log_opened = 1;
}

void
log_init(const char *ident, int to_stderr, enum log_level level)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	log_threshold = level;
	if (!to_stderr)
		log_open();
}

/* The configuration's facility and format. */
void
log_configure(int facility, int json)
{
	log_json = json;
	if (facility != log_facility) {
		log_facility = facility;
		if (!log_to_stderr)
			log_open();
	}
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_level_from_name(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++) {
		if (strcmp(log_levels[i].name, name) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void
log_when(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char s[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", s, ts.tv_nsec / 1000000);
}

/* The line as JSON: {time, level, message[, invocation, rule, pool]}. */
static char *
log_json_line(enum log_level level, const char *when, const char *msg,
    const char *const *ctx)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "time", when, "level",
	    log_levels[level].name, "message", msg);
	char *s;

	if (o == NULL)
		return NULL;
	if (ctx != NULL) {
		json_object_set_new(o, "invocation", json_string(ctx[0]));
		json_object_set_new(o, "rule", json_string(ctx[1]));
		json_object_set_new(o, "pool", json_string(ctx[2]));
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static void
log_write(enum log_level level, const char *line, const char *const *ctx)
{
	char when[64], text[2300], *json = NULL;
	const char *out = line;

	log_when(when, sizeof when);
	if (log_json && (json = log_json_line(level, when, line, ctx)) != NULL)
		out = json;
	else if (ctx != NULL) {
		snprintf(text, sizeof text, "invocation %s rule %s pool %s: %s",
		    ctx[0], ctx[1], ctx[2], line);
		out = text;
	}
	if (!log_to_stderr)
		syslog(log_levels[level].syslog_priority, "%s", out);
	else if (json != NULL)
		fprintf(stderr, "%s\n", out);
	else
		fprintf(stderr, "%s %s %s: %s\n", when, log_ident,
		    log_levels[level].name, out);
	free(json);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_write(level, line, NULL);
}

void
log_inv(enum log_level level, const char *id, const char *rule,
    const char *pool, const char *fmt, ...)
{
	const char *ctx[3] = { id, rule, pool != NULL ? pool : "-" };
	char line[2048];
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_write(level, line, ctx);
}
