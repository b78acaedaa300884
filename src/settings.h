/*
 * settings.h: moonboxd.conf, the daemon's own settings (settings.c); the
 * pools and grants are in the policy file (policy.h). See moonboxd(8).
 */
#ifndef MB_SETTINGS_H
#define MB_SETTINGS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

#define SET_SOCKET_PATH_MAX	108	/* sun_path */
#define SET_TOKEN_MAX		256

/* A TCP listener: msgpack-RPC or HTTP. Off loopback it needs a token. */
struct set_tcp {
	int		 on;
	char		 host[256];		/* an address to bind */
	int		 port;
	char		 token_file[PATH_MAX];	/* "": none */
};

struct settings {
	char		 path[PATH_MAX];	/* of the file itself */
	char		 listen[SET_SOCKET_PATH_MAX];
	mode_t		 listen_mode;
	char		 listen_group[64];	/* "": the daemon's */
	char		 control[SET_SOCKET_PATH_MAX];
	char		 rules[PATH_MAX];
	char		 policy[PATH_MAX];
	char		 user[64];		/* workers, when started as root */
	char		 chroot[PATH_MAX];	/* "": one is made */
	size_t		 max_request;
	uint64_t	 max_connections;
	uint64_t	 max_inflight;		/* per connection */
	size_t		 max_pending_output;	/* per connection */
	uint64_t	 drain_us;
	enum log_level	 log_level;
	int		 log_facility;		/* syslog's */
	int		 log_json;		/* JSON lines */
	struct set_tcp	 rpc_tcp;		/* msgpack-RPC over TCP */
	struct set_tcp	 http;			/* the HTTP/JSON API */
	uint64_t	 http_idle_us;		/* slow HTTP clients */
	char		 recordings[PATH_MAX];	/* "": state/recordings */
	double		 record_sample;		/* of invocations, 0 to 1 */
	/* The broker's: */
	char		 state[PATH_MAX];	/* kv store, audit log */
	int		 kv_redis;		/* 0: LMDB under state/kv */
	char		 kv_address[PATH_MAX];	/* redis host or socket */
	int		 kv_port;
	size_t		 kv_size;		/* LMDB map size */
	char		 secrets[PATH_MAX];	/* "": no secrets */
	char		 audit[PATH_MAX];
	uint64_t	 http_timeout_us;	/* most one request may take */
	size_t		 http_max_response;
};

int	settings_load(const char *, struct settings *, char *, size_t);

#endif
