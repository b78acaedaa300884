/*
 * mbprobe.c: the replacement probe of bench/ (see bench/README.md): how
 * long a pool whose worker was killed at a deadline takes to run an
 * invocation again. Each turn pipelines two invocations on one connection
 * to a pool of one worker: RUNAWAY, which spins inside a library function
 * until the master kills its worker at the deadline given in the request,
 * then OK, which waits in the queue. Two figures: as the client sees it,
 * from the runaway's timeout answer, sent as its worker is killed, to OK's
 * answer (spawning, containment, the first sandbox, READY, and one
 * invocation); and as the daemon counts it, OK's time in the queue less
 * the runaway's deadline and grace, which a client that is itself slow to
 * be scheduled cannot stretch or shrink.
 * A client of libmoonbox (mb_send, mb_recv).
 *
 * usage: mbprobe SOCKET RUNAWAY OK TURNS DEADLINE_MS GRACE_MS
 * prints one line per turn: "replace CLIENT_MS DAEMON_MS"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "moonbox.h"

static double
mp_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* [rule, nil] or [rule, nil, {deadline: ms}] */
static void
mp_params(msgpack_sbuffer *sb, const char *rule, unsigned deadline_ms)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, deadline_ms > 0 ? 3 : 2);
	msgpack_pack_str(&pk, strlen(rule));
	msgpack_pack_str_body(&pk, rule, strlen(rule));
	msgpack_pack_nil(&pk);
	if (deadline_ms > 0) {
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str(&pk, 8);
		msgpack_pack_str_body(&pk, "deadline", 8);
		msgpack_pack_uint32(&pk, deadline_ms);
	}
}

/* One turn: the milliseconds from the kill's answer to OK's, or -1; and
 * OK's wait in the queue. */
static double
mp_turn(struct mb_client *c, const char *runaway, const char *ok,
    unsigned deadline_ms, double *queued)
{
	msgpack_sbuffer a, b;
	uint32_t ida, idb, id;
	double killed = -1, back = -1;

	mp_params(&a, runaway, deadline_ms);
	mp_params(&b, ok, 0);
	if (mb_send(c, "invoke", a.data, a.size, &ida) < 0 ||
	    mb_send(c, "invoke", b.data, b.size, &idb) < 0) {
		fprintf(stderr, "mbprobe: %s\n", mb_error(c));
		exit(1);
	}
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
	for (int n = 0; n < 2; n++) {
		struct mb_result res;

		if (mb_recv(c, &id, &res) < 0) {
			fprintf(stderr, "mbprobe: %s\n", mb_error(c));
			exit(1);
		}
		if (id == ida && !res.ok && strcmp(res.kind, "timeout") == 0 &&
		    res.message != NULL && strstr(res.message, "killed") != NULL)
			killed = mp_ms();
		else if (id == idb && res.ok) {
			back = mp_ms();
			*queued = res.usage.queue_ms;
		}
		else
			fprintf(stderr, "mbprobe: unexpected answer: %s: %s\n",
			    res.ok ? "ok" : res.kind, res.message != NULL ?
			    res.message : "");
		mb_result_free(&res);
	}
	return killed >= 0 && back >= killed ? back - killed : -1;
}

int
main(int argc, char **argv)
{
	struct mb_client *c;
	int turns, bad = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: mbprobe SOCKET RUNAWAY OK TURNS "
		    "DEADLINE_MS GRACE_MS\n");
		return 2;
	}
	if ((c = mb_connect(argv[1])) == NULL) {
		perror(argv[1]);
		return 1;
	}
	turns = atoi(argv[4]);
	for (int i = 0; i < turns; i++) {
		double queued = 0, ms = mp_turn(c, argv[2], argv[3],
		    (unsigned)atoi(argv[5]), &queued);

		if (ms < 0)
			bad++;
		else
			printf("replace %.3f %.3f\n", ms, queued - atof(argv[5]) -
			    atof(argv[6]));
		fflush(stdout);
		usleep(50000);	/* the new worker settles; no backlog */
	}
	mb_close(c);
	return bad > 0 ? 3 : 0;
}
