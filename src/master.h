/*
 * master.h: the state of moonboxd's master process, shared by its parts:
 * gen.c (generations of configuration), pool.c (workers, queues,
 * deadlines), rpc.c (client connections and methods), stats.c (counters),
 * mbd.c (the process, its signals and the spawner).
 *
 * A generation is one reading of moonboxd.conf, the policy and the rules
 * directory. Reload makes a new one; new invocations go to it, the old one
 * finishes what it runs and is freed when nothing refers to it.
 */
#ifndef MB_MASTER_H
#define MB_MASTER_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include "kind.h"
#include "link.h"
#include "msg.h"
#include "policy.h"
#include "rules.h"
#include "settings.h"
#include "stats.h"

/* glibc's sys/queue.h lacks the BSD _SAFE iterators. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST((head));				\
	    (var) && ((tvar) = TAILQ_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif

struct job;
struct client;

enum worker_state {
	WS_SPAWNING,	/* asked the spawner; pid not known yet */
	WS_STARTING,	/* forked; waiting for READY */
	WS_IDLE,
	WS_BUSY,
	WS_RETIRING,	/* told to exit (channel closed) */
	WS_DYING,	/* killed or dead; waiting to be reaped */
};

struct worker {
	uint64_t		 id;
	pid_t			 pid;		/* 0 until SPAWNED */
	struct pool		*pool;
	enum worker_state	 state;
	int			 ready;		/* sent READY */
	struct link		*link;
	struct job		*job;		/* in flight */
	uint64_t		 invocations;
	struct event		*deadline;
	int			 killed;	/* by us: no crash to count */
	int			 retire;	/* once its invocation is done */
	struct timespec		 idle_since;
	TAILQ_ENTRY(worker)	 in_pool;
	TAILQ_ENTRY(worker)	 in_all;
};
TAILQ_HEAD(worker_list, worker);

/* Where a job's answer goes: a front end (rpc.c, the HTTP API). */
struct job_sink {
	void	(*opened)(struct job *);
	void	(*reply)(struct job *, enum mb_kind, const char *, size_t,
		    const struct msg_result *);	/* m NULL: no worker answered */
	void	(*closed)(struct job *);
};

struct job {
	char			 id[PROTO_ID_MAX + 1];
	char			 rule[PROTO_NAME_MAX + 1];
	const struct job_sink	*sink;		/* NULL once it went away */
	void			*sink_ud, *sink_aux;
	uint32_t		 msgid;		/* the sink's tag */
	int			 record;	/* the client asked for it */
	struct gen		*gen;		/* held until done */
	struct pool		*pool;
	char			*input;		/* one msgpack value, or NULL */
	size_t			 input_len;
	struct lim_config	 limits;
	struct timespec		 t0;		/* received */
	double			 queue_ms;
	struct event		*timer;		/* deadline while queued */
	int			 queued;
	TAILQ_ENTRY(job)	 in_queue;
	TAILQ_ENTRY(job)	 in_client;
};
TAILQ_HEAD(job_list, job);

struct pool {
	struct gen		*gen;
	const struct pool_conf	*conf;
	struct worker_list	 workers;
	struct job_list		 queue;
	unsigned		 nqueue;
	unsigned		 nlive;		/* spawning, starting, idle, busy */
	unsigned		 nbusy;
	unsigned		 crash_streak;
	struct timespec		 last_crash;
	struct timespec		 backoff_until;
	struct event		*respawn;
	struct pool_stats	*stats;
};

struct gen {
	unsigned		 id;
	struct settings		 set;
	struct policy		 policy;
	struct ruleset		 rules;
	struct pool		*pools;		/* one per policy pool */
	int			 npools;
	int			 refs;		/* workers and jobs */
	int			 retired;
	TAILQ_ENTRY(gen)	 entry;
};
TAILQ_HEAD(gen_list, gen);

#define MASTER_MAX_CAPS	32

/* The master, one per process. */
struct master {
	struct event_base	*base;
	struct gen		*cur;
	struct gen_list		 old;
	struct worker_list	 all;		/* every worker, by pid */
	uint64_t		 next_worker;
	unsigned		 next_gen;
	struct link		*spawner;
	pid_t			 spawner_pid;
	struct link		*broker;
	pid_t			 broker_pid;
	char			 conf_path[4096];	/* for the broker */
	int			 exe_fd;	/* our binary, for the spawner */
	uid_t			 worker_uid;
	gid_t			 worker_gid;
	char			 chroot[1024];
	int			 made_chroot;
	int			 draining;
	int			 debug;		/* -d: debug lines whatever */
	int			 foreground;	/* logs go to standard error */
	struct timespec		 started;
	struct master_stats	 stats;
	struct event		*tick;
	struct msg_cap_count	 caps[MASTER_MAX_CAPS];	/* the broker's */
	int			 ncaps;
	unsigned		 http_connections;
};

extern struct master M;

/* gen.c */
struct gen	*gen_load(const char *, char *, size_t);
void		 gen_install(struct gen *);
void		 gen_release(struct gen *);
void		 gen_free(struct gen *);
int		 master_reload(char *, size_t);

/* pool.c */
void		 pool_init(struct pool *, struct gen *, const struct pool_conf *);
void		 pool_submit(struct pool *, struct job *);
void		 pool_unqueue(struct job *);
void		 pool_free(struct pool *);
const char	*pool_worker_state_name(enum worker_state);
void		 pool_maintain(struct pool *);
void		 pool_retire_idle(struct pool *);
void		 pool_reap(pid_t, int);
void		 pool_spawner_message(const char *, size_t);
void		 pool_tick(void);
void		 pool_kill_all(void);
unsigned	 pool_count(const struct pool *, enum worker_state);

/* job.c */
struct invreq;
int		 job_submit(const struct invreq *, const struct job_sink *,
		    void *, void *, uint32_t);
void		 job_pack_result(msgpack_sbuffer *, const struct job *,
		    const struct msg_result *);
void		 job_pack_error(msgpack_sbuffer *, const struct job *,
		    enum mb_kind, const char *, size_t, const struct msg_result *);
struct job	*job_new(void);
void		 job_free(struct job *);
void		 job_fail(struct job *, enum mb_kind, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 job_done(struct job *, const struct msg_result *);
unsigned	 master_jobs_open(void);
int		 master_exec_self(char *const [], pid_t *);	/* mbd.c */

/* bridge.c: the master's side of the broker protocol */
int		 bridge_start(void);
int		 bridge_attach(struct worker *, int);
void		 bridge_begin(struct worker *, const struct job *, uint64_t);
void		 bridge_end(struct worker *, const struct job *);
void		 bridge_finish(struct worker *, const struct job *, const char *,
		    size_t, enum mb_kind, const char *);
void		 bridge_reload(void);
void		 bridge_stats(void);
void		 pool_violation(uint64_t, const char *, size_t);
void		 pool_retire_worker(struct worker *);
void		 master_jobs_changed(void);	/* mbd.c */

#endif
