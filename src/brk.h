/*
 * brk.h: the broker's parts, shared by broker.c (the process, its channels
 * and the dispatch of calls), brcap.c (what each capability does),
 * audit.c (one record per decision) and secrets.c (the secrets file).
 */
#ifndef MB_BRK_H
#define MB_BRK_H

#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <msgpack.h>

#include "cap.h"
#include "http.h"
#include "kind.h"
#include "link.h"
#include "msg.h"
#include "policy.h"
#include "quota.h"
#include "url.h"
#include "settings.h"

#define BRK_MAX_SECRETS_GIVEN	32	/* per invocation, for redaction */
#define BRK_MAX_CAPS		32	/* rows of brk_caps */

struct br_secret {
	char	*name, *value;
};

struct br_secrets {
	struct br_secret	*v;
	int			 n;
};

/* A worker, known by the channel its calls arrive on. */
struct br_worker {
	uint64_t		 id;
	char			 pool[PROTO_NAME_MAX + 1];
	struct link		*link;
	/* The invocation it runs, from PROTO_BR_BEGIN; none when !active. */
	int			 active;
	char			 inv[PROTO_ID_MAX + 1];
	char			 rule[PROTO_NAME_MAX + 1];
	uint64_t		 calls_limit, calls;
	struct timespec		 deadline;
	struct quota_inv	 quota;
	const char		*given[BRK_MAX_SECRETS_GIVEN];	/* to redact */
	const char		*given_name[BRK_MAX_SECRETS_GIVEN];
	int			 ngiven;
	/* Recording (brrec.c): the calls and replies kept until RECORD. */
	int			 record;
	struct brrec_call	*rec_calls;
	size_t			 rec_n, rec_cap, rec_bytes;
	int			 rec_overflow;	/* too much: not written */
	int			 reported;	/* a violation told */
	int			 closed;	/* its channel is gone; kept
						   for the END still to come */
	/* The call in progress (one at a time). */
	struct br_call		*call;
	TAILQ_ENTRY(br_worker)	 entry;
};

/* One capability call, from decoding to its reply and audit record. */
struct br_call {
	struct br_worker	*w;		/* NULL once it went away */
	char			 inv[PROTO_ID_MAX + 1];
	char			 rule[PROTO_NAME_MAX + 1];
	char			 pool[PROTO_NAME_MAX + 1];
	uint64_t		 seq;
	const struct br_cap	*cap;
	struct timespec		 t0;
	struct cap_call		 cc;		/* as the policy sees it */
	struct cap_decision	 decision;
	char			 url[URL_MAX + 1];	/* http: normalized */
	char			 key[600];	/* kv: NUL-terminated copy */
	uint64_t		 bytes_in, bytes_out;
	void			*pending;	/* an http call to cancel */
	int			 kv_busy;	/* a kv operation will answer */
	void			*pending_kv;	/* its arguments */
	char			 method[24];	/* http */
	char			 raw_url[2048];
	struct http_header	*headers;
	size_t			 nheaders;
	char			*body;		/* http body, log message */
	size_t			 bodylen;
	char			*fields;	/* log fields as JSON */
	uint64_t		 timeout_ms;
	msgpack_sbuffer		 args;		/* the audit's view */
	char			*rec_args;	/* for a recording: as sent */
	size_t			 rec_argslen;
};

/* A capability: its name and method as the worker sends them, how the
 * policy classes it, and what performs it. start() parses the arguments
 * (fill c->cc and the audit view), returns 0 to go on to the policy, or
 * calls brk_reply itself and returns 1. perform() does the work and
 * answers, now or later. */
struct br_cap {
	const char	*cap, *method;
	int		 kind;		/* enum cap_kind; -1: needs no grant */
	int		 write;
	int		(*start)(struct br_call *, struct mpr *, uint32_t);
	void		(*perform)(struct br_call *);
};

struct broker {
	struct event_base	*base;
	struct link		*master;
	char			 conf[4096];
	struct settings		 set;
	struct policy		 policy;
	struct br_secrets	 secrets;
	struct quota_book	*quotas;
	struct kv		*kv;
	struct http_engine	*http;
	int			 audit_fd;
	uint64_t		 counts[BRK_MAX_CAPS][3];	/* audit.c */
	int			 audit_broken;	/* deny everything: fail closed */
	TAILQ_HEAD(, br_worker)	 workers;
};

extern struct broker B;

/* brrec.c: recordings of invocations (see record.h). */
#define BRK_REC_MAX	(64u << 20)	/* bytes of calls kept for one */
void	brrec_keep_args(struct br_call *, const char *, size_t);
void	brrec_add(struct br_call *, enum mb_kind, const char *,
	    const char *, size_t);
void	brrec_write(struct br_worker *, const struct msg_record *);
void	brrec_forget(struct br_worker *);

/* broker.c */
void	brk_reply(struct br_call *, enum mb_kind, const char *,
	    const char *, size_t);
void	brk_replyf(struct br_call *, enum mb_kind, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
const struct br_cap *brk_find_cap(const char *, const char *);
uint64_t brk_ms_left(const struct br_worker *);

/* brcap.c */
extern const struct br_cap brk_caps[];
void	brcap_free(struct br_call *);

/* audit.c */
int	audit_open(const char *, char *, size_t);
void	audit_record(const struct br_call *, enum mb_kind, const char *);

/* secrets.c */
int	secrets_load(const char *, struct br_secrets *, char *, size_t);
void	secrets_free(struct br_secrets *);
const char *secrets_find(const struct br_secrets *, const char *);

#endif
