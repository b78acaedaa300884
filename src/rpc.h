/*
 * rpc.h: the daemon's msgpack-RPC connections (rpc.c): requests
 * [0, msgid, method, params] in, responses [1, msgid, error, result] out,
 * many in flight per connection, answered in any order. Methods are one
 * table; each says on which sockets it may be called. See moonboxd(8).
 */
#ifndef MB_RPC_H
#define MB_RPC_H

#include <stdint.h>

#include <msgpack.h>

#include "kind.h"
#include "mpr.h"

struct client;
struct job;

/* What a method is handed: its client, the msgid, and a reader over the
 * params array's nparams elements. It must answer exactly once, now or
 * later (invoke). */
struct rpc_call {
	struct client	*client;
	uint32_t	 msgid;
	struct mpr	*params;
	uint32_t	 nparams;
};

enum rpc_socket { RPC_CLIENT = 1, RPC_CONTROL = 2 };

struct rpc_method {
	const char	*name;
	unsigned	 sockets;	/* where it may be called */
	void		(*call)(struct rpc_call *);
};

/* Serve msgpack-RPC on a listening socket; token: what its clients must
 * present with auth first, or NULL. */
int	rpc_listen(int, enum rpc_socket, const char *);
void	rpc_stop_listening(void);
unsigned rpc_clients(void);
/* Close every client once its replies are out (shutdown). */
void	rpc_close_all(void);

/* A success: the packer is positioned where the result value goes. */
void	rpc_result_begin(msgpack_sbuffer *, msgpack_packer *, uint32_t);
void	rpc_result_end(struct client *, msgpack_sbuffer *);
/* An error map {kind, message}; extra, when set, packs more pairs after
 * those two (nextra of them). */
void	rpc_error(struct client *, uint32_t, enum mb_kind, const char *);
void	rpc_error_begin(msgpack_sbuffer *, msgpack_packer *, uint32_t,
	    enum mb_kind, const char *, size_t, unsigned);
void	rpc_error_end(struct client *, msgpack_sbuffer *);

/* Jobs a client has open: back-pressure past max-inflight. */
void	rpc_job_open(struct client *, struct job *);
void	rpc_job_closed(struct client *, struct job *);

/* The methods (ctl.c, job.c). */
void	method_invoke(struct rpc_call *);
void	method_ping(struct rpc_call *);
void	method_rules(struct rpc_call *);
void	method_reload(struct rpc_call *);
void	method_stats(struct rpc_call *);
void	method_workers(struct rpc_call *);

/* Pack a C string. */
void	rpc_pack_str(msgpack_packer *, const char *);

#endif
