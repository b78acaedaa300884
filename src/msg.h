/*
 * msg.h: the messages of proto.h, packed and decoded in mirrored pairs
 * (msg.c). A decoded message points into the frame it came from; every
 * string and nested value in it has been checked for type and bounds.
 */
#ifndef MB_MSG_H
#define MB_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "invoke.h"
#include "proto.h"

struct msg_span {
	const char	*p;
	size_t		 n;
};

struct msg_invoke {
	char			 id[PROTO_ID_MAX + 1];
	char			 rule[PROTO_NAME_MAX + 1];
	struct msg_span		 source;
	struct msg_span		 input;		/* n == 0: nil */
	struct lim_config	 limits;
};

struct msg_result {
	char		 id[PROTO_ID_MAX + 1];
	enum mb_kind	 kind;
	struct msg_span	 message;
	struct msg_span	 result;	/* one valid msgpack value when ok */
	int		 counted;
	uint64_t	 instructions, memory, cpu_us, wall_us, calls, log_dropped;
	struct msg_span	 log;		/* the array of lines, validated */
	uint32_t	 log_lines;
	int		 has_seed;
	int64_t		 seed[2];
};

struct msg_spawn {
	uint64_t	 worker;
	char		 pool[PROTO_NAME_MAX + 1];
	uint64_t	 uid, gid;
	char		 chroot[1024];
	uint64_t	 address_space, cpu_seconds;
};

struct msg_br_begin {
	uint64_t	 worker;
	char		 invocation[PROTO_ID_MAX + 1];
	char		 rule[PROTO_NAME_MAX + 1];
	uint64_t	 calls;
	uint64_t	 deadline_ms;
	int		 record;
};

struct msg_record {
	uint64_t		 worker;
	char			 invocation[PROTO_ID_MAX + 1];
	char			 rule[PROTO_NAME_MAX + 1];
	struct msg_span		 source, input, result;
	struct lim_config	 limits;
	enum mb_kind		 kind;
	struct msg_span		 message;
};

struct msg_cap_call {
	uint64_t	 seq;
	char		 cap[32];
	char		 method[32];
	struct msg_span	 args;		/* nargs values, each validated */
	uint32_t	 nargs;
};

struct msg_cap_reply {
	uint64_t	 seq;
	enum mb_kind	 kind;
	struct msg_span	 message;
	struct msg_span	 value;		/* one value */
};

/* The broker's counts for one capability (PROTO_BR_STATS). */
struct msg_cap_count {
	char		 cap[40];	/* "kv.get" */
	uint64_t	 allowed, denied, refused;
};

/* Start and finish a frame in sb: the length prefix is patched in. */
void	msg_begin(msgpack_sbuffer *, msgpack_packer *, enum proto_type, int);
int	msg_finish(msgpack_sbuffer *);
/* Fields, for the messages of another channel too (tester_msg.c): the
 * array of exactly nfields after type t; a failure's reason; a string (or
 * bin) and a C string (NULL: empty) packed. */
int	msg_open(struct mpr *, int, uint32_t);
int	msg_fail(struct mpr *, const char *);
void	msg_pack_bytes(msgpack_packer *, const char *, size_t, int);
void	msg_pack_cstr(msgpack_packer *, const char *);

/* The type of a frame body, peeked. Each decoder then reads the whole body
 * from a fresh reader: the array, its length, the type, every field, and
 * nothing left over; r->err says what was wrong. */
struct mpr;
int	msg_type(const char *, size_t, enum proto_type *);

int	msg_invoke_pack(msgpack_sbuffer *, const struct inv_request *);
int	msg_invoke_decode(struct mpr *, struct msg_invoke *);
void	msg_invoke_request(const struct msg_invoke *, struct inv_request *,
	    char *, size_t);

int	msg_result_pack(msgpack_sbuffer *, const char *,
	    const struct inv_outcome *);
int	msg_result_decode(struct mpr *, struct msg_result *);
void	msg_result_outcome(const struct msg_result *, struct inv_outcome *);

void	msg_ready_pack(msgpack_sbuffer *);
void	msg_failed_pack(msgpack_sbuffer *, const char *);
int	msg_failed_decode(struct mpr *, struct msg_span *);

void	msg_spawn_pack(msgpack_sbuffer *, const struct msg_spawn *);
int	msg_spawn_decode(struct mpr *, struct msg_spawn *);
void	msg_spawned_pack(msgpack_sbuffer *, uint64_t, uint64_t);
int	msg_spawned_decode(struct mpr *, uint64_t *, uint64_t *);
void	msg_spawn_failed_pack(msgpack_sbuffer *, uint64_t, const char *);
int	msg_spawn_failed_decode(struct mpr *, uint64_t *, struct msg_span *);

void	msg_attach_pack(msgpack_sbuffer *, uint64_t, const char *);
int	msg_attach_decode(struct mpr *, uint64_t *, char *, size_t);
void	msg_br_begin_pack(msgpack_sbuffer *, const struct msg_br_begin *);
int	msg_br_begin_decode(struct mpr *, struct msg_br_begin *);
void	msg_br_end_pack(msgpack_sbuffer *, uint64_t, const char *);
int	msg_br_end_decode(struct mpr *, uint64_t *, char *, size_t);
void	msg_br_reload_pack(msgpack_sbuffer *);
int	msg_br_reload_decode(struct mpr *);
void	msg_violation_pack(msgpack_sbuffer *, uint64_t, const char *);
int	msg_violation_decode(struct mpr *, uint64_t *, struct msg_span *);
void	msg_reloaded_pack(msgpack_sbuffer *, int, const char *);
int	msg_reloaded_decode(struct mpr *, int *, struct msg_span *);
void	msg_cap_call_begin(msgpack_sbuffer *, msgpack_packer *, uint64_t,
	    const char *, const char *, uint32_t);
int	msg_cap_call_decode(struct mpr *, struct msg_cap_call *);
void	msg_cap_reply_begin(msgpack_sbuffer *, msgpack_packer *, uint64_t,
	    enum mb_kind, const char *);
int	msg_cap_reply_decode(struct mpr *, struct msg_cap_reply *);
int	msg_record_pack(msgpack_sbuffer *, const struct msg_record *);
int	msg_record_decode(struct mpr *, struct msg_record *);
void	msg_stats_ask_pack(msgpack_sbuffer *);
int	msg_stats_ask_decode(struct mpr *);
void	msg_stats_pack(msgpack_sbuffer *, const struct msg_cap_count *, int);
int	msg_stats_decode(struct mpr *, struct msg_cap_count *, int, int *);

#endif
