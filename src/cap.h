/*
 * cap.h: a capability call as the policy judges it (policy.c) and the
 * broker performs it (broker.c). The caller's identity (rule, pool) comes
 * from the broker's own records of which invocation runs on the channel,
 * never from the worker.
 */
#ifndef MB_CAP_H
#define MB_CAP_H

#include <stddef.h>
#include <stdint.h>

enum cap_kind {
	CAP_LOG,	/* log.debug/info/warn/error */
	CAP_KV,		/* kv.get/set/del/incr */
	CAP_HTTP,	/* http.request */
	CAP_SECRET,	/* secrets.get */
	CAP_KIND_COUNT
};

struct cap_call {
	enum cap_kind	 cap;
	const char	*rule;		/* from the broker's records */
	const char	*pool;
	/* CAP_HTTP */
	const char	*method;	/* upper case: GET, POST, ... */
	const char	*url;		/* absolute http or https URL */
	/* CAP_KV */
	int		 write;		/* set, del, incr */
	const char	*key;
	size_t		 keylen;
	/* CAP_SECRET */
	const char	*secret;
};

struct cap_decision {
	int		 allowed;
	int		 line;		/* the deciding statement; 0: default */
	int		 allow_private;	/* CAP_HTTP: the statement names a
					 * private address or says so */
	char		 why[256];	/* for the audit log and `explain` */
};

const char	*cap_name(enum cap_kind);
int		 cap_from_name(const char *, enum cap_kind *);

#endif
