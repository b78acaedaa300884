/*
 * record.h: recordings of invocations (record.c), for `moonbox replay`. A
 * recording is one JSON file: the rule's source, its input, the limits and
 * the math.random seed, every capability call with its reply in order, and
 * the outcome. Secrets are replaced by "[redacted:NAME]" everywhere but in
 * the source. The format is in moonbox(1), RECORDINGS.
 *
 * Values (input, arguments, replies, results) are kept as jansson trees in
 * a lossless tagged form: a valid UTF-8 string is a JSON string; other
 * bytes are {"$base64": "..."}; a real that JSON cannot hold is
 * {"$float": "nan" | "inf" | "-inf"}; an integer above INT64_MAX is
 * {"$uint": "digits"}; a map whose keys are not all UTF-8 strings (or that
 * would read as a tag: one key starting with '$') is {"$map": [[k, v], ...]};
 * an ext value is {"$ext": [type, "base64"]}. Integers and reals stay
 * apart (1 and 1.0).
 *
 * The daemon's side builds one with rec_new, rec_add_call per call,
 * rec_set_outcome, rec_set_seed and rec_redact (any order: a secret once
 * given is redacted from what is there and from all that comes later),
 * then rec_write. Uses jansson, mpr.c and msgpack-c.
 */
#ifndef MB_RECORD_H
#define MB_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "invoke.h"
#include "kind.h"
#include "limit.h"

#define REC_VERSION	1
#define REC_FILE_MAX	(256u << 20)	/* bytes of a recording file */
#define REC_MAX_SECRETS	64		/* secrets redacted in one */

struct rec_call {
	char		*cap;		/* as on the wire: log kv http secret time */
	char		*method;
	json_t		*args;		/* array of values */
	enum mb_kind	 reply_kind;
	char		*reply_message;
	json_t		*reply_value;	/* null unless ok */
};

struct rec_outcome {
	int		 set;
	enum mb_kind	 kind;
	char		*message;
	json_t		*value;		/* null unless ok */
	json_t		*log;		/* array of strings (tagged) */
	unsigned	 log_dropped;
	int		 counted;	/* instructions were counted */
	uint64_t	 instructions, memory, calls;
	double		 cpu_ms, wall_ms;
};

/* Secret values to redact (or, in replay, to put back), longest first. */
struct rec_secret {
	char		*name;
	char		*value;
	size_t		 len;
};

struct rec_secrets {
	struct rec_secret	 v[REC_MAX_SECRETS];
	int			 n;
};

struct recording {
	char			*rule, *pool, *invocation;
	char			*source;
	size_t			 srclen;
	json_t			*input;		/* null: no input */
	struct lim_config	 limits;
	int			 has_seed;
	int64_t			 seed[2];	/* math.randomseed(seed[0], seed[1]) */
	char			 recorded[32];	/* UTC, ISO 8601 */
	struct rec_call		*calls;
	size_t			 ncalls, capcalls;
	struct rec_outcome	 outcome;
	json_t			*redacted;	/* array of secret names */
	struct rec_secrets	 secrets;	/* in memory only, wiped */
};

/* Building. Each returns 0, or -1 (and NULL) when out of memory or when a
 * value is not valid msgpack; the recording is then unchanged. */
struct recording *rec_new(const char *rule, const char *source, size_t srclen,
	    const char *input, size_t inlen, const struct lim_config *,
	    const char *invocation, const char *pool);
/* args: the call's arguments, msgpack values back to back (the args span
 * of a decoded PROTO_CAP_CALL); value: one msgpack value, or NULL/0 for
 * nil. */
int	rec_add_call(struct recording *, const char *cap, const char *method,
	    const char *args, size_t argslen, enum mb_kind reply_kind,
	    const char *reply_message, const char *value, size_t valuelen);
int	rec_set_outcome(struct recording *, const struct inv_outcome *);
void	rec_set_seed(struct recording *, const int64_t[2]);
/* Replace every occurrence of value (in input, arguments, replies, the
 * outcome and its log; never in the source) with "[redacted:NAME]". An
 * empty value is ignored. */
int	rec_redact(struct recording *, const char *name, const char *value);
void	rec_free(struct recording *);

/* Files. Written atomically (a temporary file in the same directory,
 * renamed), mode 0600. Reading is strict: a file that is not exactly a
 * recording of a known version is refused, err saying where and why. */
int	rec_write(const struct recording *, const char *, char *, size_t);
int	rec_read(const char *, struct recording **, char *, size_t);
/* The same for text in memory; name is for messages. */
int	rec_parse(const char *, size_t, const char *, struct recording **,
	    char *, size_t);
char	*rec_dump(const struct recording *);

/* Values: one msgpack value as a tree (NULL/0: nil), the values of a
 * call's args span as an array, a tree packed, compared, as text. */
json_t	*rec_value(const char *, size_t, char *, size_t);
json_t	*rec_args(const char *, size_t);
json_t	*rec_text(const char *);	/* a C string, tagged */
int	 rec_value_pack(const json_t *, msgpack_packer *);
int	 rec_value_equal(const json_t *, const json_t *);
char	*rec_value_text(const json_t *);	/* compact JSON, malloc'ed */

/* Secrets: add one (copies; -1 when full or out of memory); substitute in
 * a tree, in place: REC_REDACT puts placeholders for values, REC_REVEAL
 * values for placeholders. Existing placeholders are never rewritten. */
enum rec_subst { REC_REDACT, REC_REVEAL };
int	 rec_secrets_add(struct rec_secrets *, const char *, const char *,
	    size_t);
void	 rec_secrets_free(struct rec_secrets *);
int	 rec_secrets_apply(const struct rec_secrets *, enum rec_subst,
	    json_t **);
char	*rec_secrets_text(const struct rec_secrets *, enum rec_subst,
	    const char *, size_t, size_t *);

#endif
