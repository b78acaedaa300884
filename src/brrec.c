/*
 * brrec.c: the broker's side of recordings. For an invocation the master
 * marked to record (PROTO_BR_BEGIN's record), the broker keeps each
 * capability call as the worker sent it and the reply it got; at
 * PROTO_BR_RECORD it adds the rule, the input and the outcome and writes
 * one file, recordings/<invocation>.json, with the secrets it gave out
 * redacted. The broker writes it, not the master, because only the broker
 * knows the calls and the secret values to hide.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "brk.h"
#include "invoke.h"
#include "log.h"
#include "mpr.h"
#include "record.h"

struct brrec_call {
	const char	*cap, *method;	/* static: brk_caps' strings */
	char		*args;
	size_t		 argslen;
	enum mb_kind	 kind;
	char		*message;
	char		*value;
	size_t		 valuelen;
};

/* Called as a call is decoded: its arguments do not outlive the frame. */
void
brrec_keep_args(struct br_call *c, const char *args, size_t len)
{
	if (c->w == NULL || !c->w->record || c->w->rec_overflow)
		return;
	if ((c->rec_args = malloc(len > 0 ? len : 1)) == NULL) {
		c->w->rec_overflow = 1;
		return;
	}
	memcpy(c->rec_args, args, len);
	c->rec_argslen = len;
}

static char *
brrec_dup(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

/* Called as the call is answered: keep it, with its reply. */
void
brrec_add(struct br_call *c, enum mb_kind k, const char *msg,
    const char *value, size_t len)
{
	struct br_worker *w = c->w;
	struct brrec_call *rc, *v;
	size_t n;

	if (w == NULL || !w->record || w->rec_overflow)
		return;
	msg = msg != NULL ? msg : "";
	n = c->rec_argslen + strlen(msg) + len + sizeof *rc;
	if (w->rec_bytes + n > BRK_REC_MAX || c->rec_args == NULL) {
		w->rec_overflow = 1;
		return;
	}
	if (w->rec_n == w->rec_cap) {
		size_t cap = w->rec_cap > 0 ? w->rec_cap * 2 : 8;

		if ((v = reallocarray(w->rec_calls, cap, sizeof *v)) == NULL) {
			w->rec_overflow = 1;
			return;
		}
		w->rec_calls = v;
		w->rec_cap = cap;
	}
	rc = &w->rec_calls[w->rec_n];
	memset(rc, 0, sizeof *rc);
	rc->cap = c->cap->cap;
	rc->method = c->cap->method;
	rc->kind = k;
	rc->message = strdup(msg);
	rc->value = value != NULL && len > 0 ? brrec_dup(value, len) : NULL;
	rc->valuelen = rc->value != NULL ? len : 0;
	if (rc->message == NULL || (value != NULL && len > 0 &&
	    rc->value == NULL)) {
		free(rc->message);
		free(rc->value);
		w->rec_overflow = 1;
		return;
	}
	rc->args = c->rec_args;		/* the call's copy moves here */
	rc->argslen = c->rec_argslen;
	c->rec_args = NULL;
	w->rec_n++;
	w->rec_bytes += n;
}

void
brrec_forget(struct br_worker *w)
{
	for (size_t i = 0; i < w->rec_n; i++) {
		struct brrec_call *rc = &w->rec_calls[i];

		free(rc->args);
		free(rc->message);
		if (rc->value != NULL)
			explicit_bzero(rc->value, rc->valuelen);
		free(rc->value);
	}
	free(w->rec_calls);
	w->rec_calls = NULL;
	w->rec_n = w->rec_cap = w->rec_bytes = 0;
	w->rec_overflow = 0;
	w->record = 0;
}

/* The outcome: the worker's RESULT when it answered, else the master's. */
static int
brrec_outcome(struct recording *rec, const struct msg_record *m)
{
	struct inv_outcome o;
	struct msg_result res;
	struct mpr r;
	int rv;

	inv_outcome_init(&o);
	if (m->result.n > 0) {
		mpr_init(&r, m->result.p, m->result.n);
		if (msg_result_decode(&r, &res) < 0) {
			inv_outcome_free(&o);
			return -1;
		}
		msg_result_outcome(&res, &o);
	} else {
		o.kind = m->kind;
		snprintf(o.message, sizeof o.message, "%.*s", (int)(m->message.n
		    < sizeof o.message ? m->message.n : sizeof o.message - 1),
		    m->message.p);
	}
	rv = rec_set_outcome(rec, &o);
	if (rv == 0 && o.has_seed)
		rec_set_seed(rec, o.seed);
	inv_outcome_free(&o);
	return rv;
}

static struct recording *
brrec_build(const struct br_worker *w, const struct msg_record *m)
{
	struct recording *rec;

	rec = rec_new(m->rule, m->source.p, m->source.n,
	    m->input.n > 0 ? m->input.p : NULL, m->input.n, &m->limits,
	    m->invocation, w->pool);
	if (rec == NULL)
		return NULL;
	for (int i = 0; i < w->ngiven; i++)
		if (rec_redact(rec, w->given_name[i], w->given[i]) < 0)
			goto fail;
	for (size_t i = 0; i < w->rec_n; i++) {
		const struct brrec_call *rc = &w->rec_calls[i];

		if (rec_add_call(rec, rc->cap, rc->method, rc->args,
		    rc->argslen, rc->kind, rc->message, rc->value,
		    rc->valuelen) < 0)
			goto fail;
	}
	if (brrec_outcome(rec, m) < 0)
		goto fail;
	return rec;
fail:
	rec_free(rec);
	return NULL;
}

/* An invocation id names the file: it must not say where else to go. */
static int
brrec_safe_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

void
brrec_write(struct br_worker *w, const struct msg_record *m)
{
	const char *dir = B.set.recordings;
	struct recording *rec;
	char path[PATH_MAX + 64], err[512];

	if (w->rec_overflow) {
		log_warn("invocation %s: its calls exceed %u MiB; not recorded",
		    m->invocation, BRK_REC_MAX >> 20);
		return;
	}
	if (!brrec_safe_name(m->invocation) || (size_t)snprintf(path,
	    sizeof path, "%s/%s.json", dir, m->invocation) >= sizeof path) {
		log_warn("invocation %s: cannot name its recording",
		    m->invocation);
		return;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warn("recordings: %s: %s", dir, strerror(errno));
		return;
	}
	if ((rec = brrec_build(w, m)) == NULL) {
		log_warn("invocation %s: cannot build its recording (out of "
		    "memory or a value not valid)", m->invocation);
		return;
	}
	if (rec_write(rec, path, err, sizeof err) < 0)
		log_warn("invocation %s: recording: %s", m->invocation, err);
	else
		log_info("invocation %s of %s recorded in %s", m->invocation,
		    m->rule, path);
	rec_free(rec);
}
