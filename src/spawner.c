/*
 * spawner.c: reads PROTO_SP_SPAWN requests and forks one worker for each,
 * as a child of the master (CLONE_PARENT), which reaps it and may signal
 * it without a race on pid reuse; the spawner reports the worker's pid.
 * Uses worker.c, msg.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "chan.h"
#include "mpr.h"
#include "msg.h"
#include "sandbox.h"
#include "spawner.h"
#include "worker.h"

static void
sp_send(int chan, msgpack_sbuffer *sb)
{
	(void)chan_send(chan, sb->data, sb->size);
}

static void __attribute__((noreturn))
sp_worker(int chan, const struct msg_spawn *m, const int *fds)
{
	struct worker_config wc = { 0 };
	int keep[2] = { fds[0], fds[1] };

	close(chan);
	wc.chan = fds[0];
	wc.broker = fds[1];
	wc.contain.keep_fds = keep;
	wc.contain.nkeep = 2;
	wc.contain.address_space = (size_t)m->address_space;
	wc.contain.cpu_seconds = (unsigned)m->cpu_seconds;
	wc.contain.uid = (uid_t)m->uid;
	wc.contain.gid = (gid_t)m->gid;
	wc.contain.empty_dir = m->chroot[0] != '\0' ? m->chroot : NULL;
	worker_main(&wc);
}

/*
 * The worker is made a child of the master, not of the spawner:
 * CLONE_PARENT does in one step what a fork from a middle process that
 * then exits did, a fork and a wait less on the way to a replacement.
 * Raw clone(2) with no new stack behaves as fork(2) without glibc's
 * atfork handlers, which this single-threaded process does not need.
 */
static pid_t
sp_fork_sibling(void)
{
	return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL,
	    NULL, NULL);
}

static void
sp_spawn(int chan, const struct msg_spawn *m, const int *fds)
{
	msgpack_sbuffer sb;
	pid_t w = sp_fork_sibling();

	if (w == 0)
		sp_worker(chan, m, fds);
	close(fds[0]);
	close(fds[1]);
	msgpack_sbuffer_init(&sb);
	if (w < 0)
		msg_spawn_failed_pack(&sb, m->worker, strerror(errno));
	else
		msg_spawned_pack(&sb, m->worker, (uint64_t)w);
	sp_send(chan, &sb);
	msgpack_sbuffer_destroy(&sb);
}

void
spawner_main(int chan)
{
	if (sbx_init() < 0) {
		fprintf(stderr, "moonboxd: spawner: cannot set up the sandbox\n");
		_exit(1);
	}
	for (;;) {
		struct msg_spawn m;
		struct mpr r;
		char *buf;
		size_t len;
		int fds[2], nfds, got = chan_recv_fds(chan, &buf, &len, fds, &nfds);

		if (got <= 0)
			_exit(got == 0 ? 0 : 1);	/* the master is gone */
		mpr_init(&r, buf, len);
		if (msg_spawn_decode(&r, &m) < 0 || nfds != 2) {
			fprintf(stderr, "moonboxd: spawner: bad request: %s\n",
			    r.err != NULL ? r.err : "not two descriptors");
			_exit(1);
		}
		free(buf);
		sp_spawn(chan, &m, fds);
	}
}
