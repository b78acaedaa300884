/*
 * moonbox.h: libmoonbox, the C client of moonboxd. See libmoonbox(3).
 *
 * A client is one connection to the daemon's socket. mb_invoke runs a rule
 * and waits for its answer; mb_call calls any method. mb_send and mb_recv
 * keep many requests in flight on one connection; answers come in any
 * order, matched by msgid. A client is not safe to share between threads.
 */
#ifndef MOONBOX_H
#define MOONBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mb_client;

/* Lower a pool's limits for one invocation; 0 leaves one as it is. */
struct mb_options {
	uint64_t	 deadline_ms;
	uint64_t	 memory;
	uint64_t	 instructions;
	uint64_t	 output;
	uint64_t	 log;
	uint64_t	 calls;		/* capability calls */
	int		 record;	/* write a recording of it */
};

struct mb_usage {
	int		 counted;	/* instructions were counted */
	uint64_t	 instructions;
	uint64_t	 memory;	/* peak bytes */
	double		 cpu_ms, wall_ms, queue_ms;
	uint64_t	 calls;		/* capability calls */
	uint64_t	 log_dropped;
};

/* An answer. ok: the call succeeded and value_json holds its result
 * (for invoke, the rule's value). Otherwise kind and message say why. */
struct mb_result {
	int		 ok;
	char		 kind[32];
	char		*message;
	char		*value_json;
	char		*id;		/* invocation id (invoke) */
	struct mb_usage	 usage;		/* (invoke) */
	char		**log;		/* (invoke) the rule's log lines */
	size_t		 nlog;
	void		*raw;		/* the whole response, msgpack */
	size_t		 raw_len;
};

/* Connect to a unix socket's path, or to "tcp:HOST:PORT". NULL with errno
 * set on failure. */
struct mb_client *mb_connect(const char *);
/* Present a TCP listener's token; 0 when accepted (a refusal closes the
 * connection). */
int		 mb_auth(struct mb_client *, const char *);
void		 mb_close(struct mb_client *);
/* What the last failure of this client was, as text. */
const char	*mb_error(const struct mb_client *);

/* Run a rule on an input given as JSON text (NULL: null). Returns 0 when
 * the daemon answered (see res->ok), -1 when it could not be asked. */
int		 mb_invoke(struct mb_client *, const char *, const char *,
		    const struct mb_options *, struct mb_result *);
/* The same with the input as one msgpack value. */
int		 mb_invoke_msgpack(struct mb_client *, const char *,
		    const void *, size_t, const struct mb_options *,
		    struct mb_result *);
/* Call a method with params given as a JSON array (NULL: []). */
int		 mb_call(struct mb_client *, const char *, const char *,
		    struct mb_result *);

/* Pipelining: send a request whose params are one msgpack array; receive
 * the next answer, whichever it is. */
int		 mb_send(struct mb_client *, const char *, const void *,
		    size_t, uint32_t *);
int		 mb_recv(struct mb_client *, uint32_t *, struct mb_result *);

void		 mb_result_free(struct mb_result *);

#ifdef __cplusplus
}
#endif

#endif
