/*
 * spawner.c: reads PROTO_SP_SPAWN requests and forks one worker for each,
 * twice: the middle process reports the worker's pid and exits, so the
 * worker is re-parented to the master (a child subreaper), which reaps it
 * and may signal it without a race on pid reuse. Uses worker.c, msg.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

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

/* The middle process: fork the worker, say its pid, leave. */
static void __attribute__((noreturn))
sp_middle(int chan, const struct msg_spawn *m, const int *fds)
{
	msgpack_sbuffer sb;
	pid_t w = fork();

	if (w == 0)
		sp_worker(chan, m, fds);
	msgpack_sbuffer_init(&sb);
	if (w < 0)
		msg_spawn_failed_pack(&sb, m->worker, strerror(errno));
	else
		msg_spawned_pack(&sb, m->worker, (uint64_t)w);
	sp_send(chan, &sb);
	_exit(w < 0);
}

static void
sp_spawn(int chan, const struct msg_spawn *m, const int *fds)
{
	msgpack_sbuffer sb;
	pid_t mid = fork();
	int st;

	if (mid == 0)
		sp_middle(chan, m, fds);
	close(fds[0]);
	close(fds[1]);
	if (mid < 0) {
		msgpack_sbuffer_init(&sb);
		msg_spawn_failed_pack(&sb, m->worker, strerror(errno));
		sp_send(chan, &sb);
		msgpack_sbuffer_destroy(&sb);
		return;
	}
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
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
