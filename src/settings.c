/*
 * settings.c: reads moonboxd.conf through conf.c, one keyword a row of
 * settings_keys. Relative paths are taken from the file's own directory,
 * so a configuration and its rules can move together.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <syslog.h>

#include "conf.h"
#include "settings.h"

struct set_ctx {
	struct settings	*s;
	char		 dir[PATH_MAX];	/* of the file */
};

static void
set_defaults(struct settings *s)
{
	memset(s, 0, sizeof *s);
	snprintf(s->listen, sizeof s->listen, "/run/moonbox/moonbox.sock");
	s->listen_mode = 0660;
	snprintf(s->control, sizeof s->control, "/run/moonbox/control.sock");
	snprintf(s->rules, sizeof s->rules, "/etc/moonbox/rules");
	snprintf(s->policy, sizeof s->policy, "/etc/moonbox/policy.conf");
	snprintf(s->user, sizeof s->user, "nobody");
	s->max_request = 16u << 20;
	s->max_connections = 1024;
	s->max_inflight = 256;
	s->max_pending_output = 64u << 20;
	s->drain_us = 10u * 1000 * 1000;
	s->log_level = LOG_LV_INFO;
	snprintf(s->state, sizeof s->state, "/var/lib/moonbox");
	s->kv_size = 1u << 30;
	s->kv_port = 6379;
	s->http_timeout_us = 10ull * 1000 * 1000;
	s->http_idle_us = 30ull * 1000 * 1000;
	s->log_facility = LOG_DAEMON;
	s->http_max_response = 1u << 20;
}

/* Argument i as a path, made absolute against the file's directory. */
static int
set_path(struct set_ctx *c, const struct conf_stmt *st, int i, char *out,
    size_t len, struct conf_err *e)
{
	const char *p;
	int n;

	if (conf_str(e, st, i, &p) < 0)
		return -1;
	if (*p == '\0')
		return conf_fail_arg(e, st, i, "expected a path");
	n = p[0] == '/' ? snprintf(out, len, "%s", p) :
	    snprintf(out, len, "%s/%s", c->dir, p);
	if (n < 0 || (size_t)n >= len)
		return conf_fail_arg(e, st, i, len == SET_SOCKET_PATH_MAX ?
		    "a socket path must be shorter than 108 bytes" :
		    "path too long");
	return 0;
}

static int
set_name(const struct conf_stmt *st, int i, char *out, size_t len,
    struct conf_err *e)
{
	const char *p;

	if (conf_str(e, st, i, &p) < 0)
		return -1;
	if (*p == '\0' || strlen(p) >= len)
		return conf_fail_arg(e, st, i, "expected a name");
	snprintf(out, len, "%s", p);
	return 0;
}

/* listen PATH [mode MODE] [group GROUP] */
static int
set_listen(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;
	struct settings *s = c->s;

	if (set_path(c, st, 0, s->listen, sizeof s->listen, e) < 0)
		return -1;
	for (int i = 1; i < st->nargs; i += 2) {
		const char *opt = st->args[i].text;

		if (i + 1 >= st->nargs)
			return conf_fail_arg(e, st, i, "needs a value");
		if (strcmp(opt, "mode") == 0) {
			if (conf_mode(e, st, i + 1, &s->listen_mode) < 0)
				return -1;
		} else if (strcmp(opt, "group") == 0) {
			if (set_name(st, i + 1, s->listen_group,
			    sizeof s->listen_group, e) < 0)
				return -1;
		} else
			return conf_fail_arg(e, st, i,
			    "expected 'mode' or 'group'");
	}
	return 0;
}

#define SET_PATH_KEY(fn, field)						\
static int								\
fn(void *ud, const struct conf_stmt *st, struct conf_err *e)		\
{									\
	struct set_ctx *c = ud;						\
	return set_path(c, st, 0, c->s->field, sizeof c->s->field, e);	\
}
SET_PATH_KEY(set_control, control)
SET_PATH_KEY(set_rules, rules)
SET_PATH_KEY(set_policy, policy)
SET_PATH_KEY(set_chroot, chroot)
SET_PATH_KEY(set_state, state)
SET_PATH_KEY(set_secrets, secrets)
SET_PATH_KEY(set_audit, audit)
SET_PATH_KEY(set_recordings, recordings)

/* record-sample FRACTION: record that share of invocations, at random. */
static int
set_record_sample(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;
	char *end;
	double v;

	errno = 0;
	v = strtod(st->args[0].text, &end);
	if (st->args[0].kind != CONF_NUMBER || *end != '\0' || errno != 0 ||
	    !(v >= 0 && v <= 1))
		return conf_fail_arg(e, st, 0, "expected a fraction from 0 to 1, "
		    "like 0.01");
	c->s->record_sample = v;
	return 0;
}

/* kv lmdb | kv redis ADDRESS [PORT] (an address starting with / is a
 * unix socket) */
static int
set_kv(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;
	struct settings *s = c->s;
	const char *which;
	uint64_t port;

	if (conf_str(e, st, 0, &which) < 0)
		return -1;
	if (strcmp(which, "lmdb") == 0) {
		if (st->nargs != 1)
			return conf_fail_arg(e, st, 0, "lmdb takes no address");
		s->kv_redis = 0;
		return 0;
	}
	if (strcmp(which, "redis") != 0)
		return conf_fail_arg(e, st, 0, "expected lmdb or redis");
	if (st->nargs < 2)
		return conf_fail(e, st->line, st->col, "'kv redis' needs an "
		    "address: a host name or a unix socket path");
	if (conf_str(e, st, 1, &which) < 0)
		return -1;
	snprintf(s->kv_address, sizeof s->kv_address, "%s", which);
	if (st->nargs == 3) {
		if (conf_count(e, st, 2, &port) < 0)
			return -1;
		if (port == 0 || port > 65535)
			return conf_fail_arg(e, st, 2, "expected a port");
		s->kv_port = (int)port;
	}
	s->kv_redis = 1;
	return 0;
}

static int
set_kv_size(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	if (conf_size(e, st, 0, &c->s->kv_size) < 0)
		return -1;
	if (c->s->kv_size < (1u << 20))
		return conf_fail_arg(e, st, 0, "must be at least 1M");
	return 0;
}

static int
set_http_timeout(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	if (conf_time(e, st, 0, &c->s->http_timeout_us) < 0)
		return -1;
	if (c->s->http_timeout_us < 1000 ||
	    c->s->http_timeout_us > 600ull * 1000000)
		return conf_fail_arg(e, st, 0, "must be from 1ms to 10m");
	return 0;
}

static int
set_http_max_response(void *ud, const struct conf_stmt *st,
    struct conf_err *e)
{
	struct set_ctx *c = ud;

	if (conf_size(e, st, 0, &c->s->http_max_response) < 0)
		return -1;
	if (c->s->http_max_response > (16u << 20))
		return conf_fail_arg(e, st, 0, "at most 16M");
	return 0;
}

static int
set_user(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	return set_name(st, 0, c->s->user, sizeof c->s->user, e);
}

static int
set_max_request(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	if (conf_size(e, st, 0, &c->s->max_request) < 0)
		return -1;
	if (c->s->max_request < 1024 || c->s->max_request > (32u << 20))
		return conf_fail_arg(e, st, 0, "must be from 1K to 32M");
	return 0;
}

static int
set_max_pending(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	if (conf_size(e, st, 0, &c->s->max_pending_output) < 0)
		return -1;
	if (c->s->max_pending_output < 4096)
		return conf_fail_arg(e, st, 0, "must be at least 4K");
	return 0;
}

static int
set_count(const struct conf_stmt *st, uint64_t *out, uint64_t max,
    struct conf_err *e)
{
	if (conf_count(e, st, 0, out) < 0)
		return -1;
	if (*out == 0 || *out > max)
		return conf_fail_arg(e, st, 0, "out of range");
	return 0;
}

static int
set_max_connections(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return set_count(st, &((struct set_ctx *)ud)->s->max_connections,
	    100000, e);
}

static int
set_max_inflight(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	return set_count(st, &((struct set_ctx *)ud)->s->max_inflight, 100000,
	    e);
}

static int
set_drain(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	if (conf_time(e, st, 0, &c->s->drain_us) < 0)
		return -1;
	if (c->s->drain_us > 3600ull * 1000 * 1000)
		return conf_fail_arg(e, st, 0, "at most 1 hour");
	return 0;
}

static int
set_log_level(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;
	const char *name;

	if (conf_str(e, st, 0, &name) < 0)
		return -1;
	if (log_level_from_name(name, &c->s->log_level) < 0)
		return conf_fail_arg(e, st, 0,
		    "expected error, warning, info or debug");
	return 0;
}

/* listen-tcp | http ADDRESS PORT [token-file PATH] */
static int
set_tcp(struct set_ctx *c, const struct conf_stmt *st, struct set_tcp *t,
    struct conf_err *e)
{
	const char *host;
	uint64_t port;

	if (conf_str(e, st, 0, &host) < 0 || conf_count(e, st, 1, &port) < 0)
		return -1;
	if (*host == '\0' || strlen(host) >= sizeof t->host)
		return conf_fail_arg(e, st, 0, "expected an address to bind");
	if (port == 0 || port > 65535)
		return conf_fail_arg(e, st, 1, "expected a port from 1 to 65535");
	snprintf(t->host, sizeof t->host, "%s", host);
	t->port = (int)port;
	t->token_file[0] = '\0';
	if (st->nargs == 2)
		goto done;
	if (st->nargs != 4 || strcmp(st->args[2].text, "token-file") != 0)
		return conf_fail_arg(e, st, 2, "expected token-file PATH");
	if (set_path(c, st, 3, t->token_file, sizeof t->token_file, e) < 0)
		return -1;
done:
	t->on = 1;
	return 0;
}

static int
set_listen_tcp(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	return set_tcp(c, st, &c->s->rpc_tcp, e);
}

static int
set_http(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	return set_tcp(c, st, &c->s->http, e);
}

static int
set_http_idle(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;

	if (conf_time(e, st, 0, &c->s->http_idle_us) < 0)
		return -1;
	if (c->s->http_idle_us < 100000 || c->s->http_idle_us > 3600ull * 1000000)
		return conf_fail_arg(e, st, 0, "must be from 100ms to 1 hour");
	return 0;
}

/* log-syslog FACILITY */
static int
set_log_syslog(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	static const struct { const char *name; int fac; } facs[] = {
		{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	struct set_ctx *c = ud;
	const char *name;

	if (conf_str(e, st, 0, &name) < 0)
		return -1;
	for (size_t i = 0; i < sizeof facs / sizeof facs[0]; i++) {
		if (strcmp(facs[i].name, name) == 0) {
			c->s->log_facility = facs[i].fac;
			return 0;
		}
	}
	return conf_fail_arg(e, st, 0, "expected daemon, user or local0 to "
	    "local7");
}

static int
set_log_format(void *ud, const struct conf_stmt *st, struct conf_err *e)
{
	struct set_ctx *c = ud;
	const char *name;

	if (conf_str(e, st, 0, &name) < 0)
		return -1;
	if (strcmp(name, "text") != 0 && strcmp(name, "json") != 0)
		return conf_fail_arg(e, st, 0, "expected text or json");
	c->s->log_json = strcmp(name, "json") == 0;
	return 0;
}

static const struct conf_key settings_keys[] = {
	{ "listen",		1, 5, 0, set_listen },
	{ "control",		1, 1, 0, set_control },
	{ "rules",		1, 1, 0, set_rules },
	{ "policy",		1, 1, 0, set_policy },
	{ "user",		1, 1, 0, set_user },
	{ "chroot",		1, 1, 0, set_chroot },
	{ "max-request",	1, 1, 0, set_max_request },
	{ "max-connections",	1, 1, 0, set_max_connections },
	{ "max-inflight",	1, 1, 0, set_max_inflight },
	{ "max-pending",	1, 1, 0, set_max_pending },
	{ "drain",		1, 1, 0, set_drain },
	{ "log-level",		1, 1, 0, set_log_level },
	{ "log-syslog",		1, 1, 0, set_log_syslog },
	{ "log-format",		1, 1, 0, set_log_format },
	{ "listen-tcp",		2, 4, 0, set_listen_tcp },
	{ "http",		2, 4, 0, set_http },
	{ "http-idle",		1, 1, 0, set_http_idle },
	{ "state",		1, 1, 0, set_state },
	{ "kv",			1, 3, 0, set_kv },
	{ "kv-size",		1, 1, 0, set_kv_size },
	{ "secrets",		1, 1, 0, set_secrets },
	{ "audit",		1, 1, 0, set_audit },
	{ "recordings",		1, 1, 0, set_recordings },
	{ "record-sample",	1, 1, 0, set_record_sample },
	{ "http-timeout",	1, 1, 0, set_http_timeout },
	{ "http-max-response",	1, 1, 0, set_http_max_response },
	{ NULL, 0, 0, 0, NULL }
};

int
settings_load(const char *path, struct settings *s, char *err, size_t len)
{
	struct set_ctx c = { .s = s };
	struct conf_err e = { path, err, len };
	struct conf_file f;
	char copy[PATH_MAX], *dir;
	int r;

	set_defaults(s);
	if (realpath(path, s->path) == NULL)
		return conf_fail(&e, 0, 0, "%s", strerror(errno));
	snprintf(copy, sizeof copy, "%s", s->path);
	dir = dirname(copy);
	snprintf(c.dir, sizeof c.dir, "%s", dir);
	if (conf_read(path, &f, err, len) < 0)
		return -1;
	r = conf_apply(f.stmts, f.nstmts, settings_keys, &c, &e);
	conf_free(&f);
	if (r == 0 && s->audit[0] == '\0' &&
	    (size_t)snprintf(s->audit, sizeof s->audit, "%s/audit.log",
	    s->state) >= sizeof s->audit)
		return conf_fail(&e, 0, 0, "state: path too long");
	if (r == 0 && s->recordings[0] == '\0' &&
	    (size_t)snprintf(s->recordings, sizeof s->recordings,
	    "%s/recordings", s->state) >= sizeof s->recordings)
		return conf_fail(&e, 0, 0, "state: path too long");
	return r;
}
