/*
 * log.c: one function that writes a log line, to standard error with a
 * timestamp when the daemon runs in the foreground, to syslog when not.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

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
static enum log_level log_threshold = LOG_LV_INFO;
static const char *log_ident = "moonboxd";

void
log_init(const char *ident, int to_stderr, enum log_level level)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	log_threshold = level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
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

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048], when[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (!log_to_stderr) {
		syslog(log_levels[level].syslog_priority, "%s", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000,
	    log_ident, log_levels[level].name, line);
}
