/*
 * mbd.c: moonboxd(8), the daemon's master process: options, the sockets,
 * detaching, the spawner, signals, and shutdown. The work is elsewhere:
 * gen.c, pool.c, rpc.c. The master never parses rule source.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "config.h"
#include "log.h"
#include "master.h"
#include "rpc.h"
#include "broker.h"
#include "httpapi.h"
#include "listen.h"
#include "sdnotify.h"
#include "spawner.h"

#ifndef MB_SYSCONFDIR
#define MB_SYSCONFDIR	"/etc"
#endif
#define MBD_DEFAULT_CONF	MB_SYSCONFDIR "/moonbox/moonboxd.conf"
#define MBD_SPAWNER_RESTARTS	5	/* in a minute, before giving up */
#define MBD_FLUSH_MS		2000	/* at exit, for replies to go out */

struct master M;

struct mbd_opts {
	const char	*conf;
	int		 debug, foreground, check;
};

static struct {
	struct event	*drain_timer, *finish_timer, *check;
	char		 listen[SET_SOCKET_PATH_MAX], control[SET_SOCKET_PATH_MAX];
	int		 spawner_restarts;
	time_t		 spawner_window;
	int		 exit_status;
	unsigned	 finish_ticks;
} mbd;

static void
mbd_usage(FILE *f)
{
	fprintf(f, "usage: moonboxd [-dFhnV] [-f file]\n"
	    "  -f, --config FILE   the configuration (default %s)\n"
	    "  -d, --debug         stay in the foreground, log debug lines "
	    "to standard error\n"
	    "  -F, --foreground    stay in the foreground, log to standard "
	    "error\n"
	    "  -n, --check         check the configuration, policy and rules, "
	    "then exit\n"
	    "  -h, --help          print this help\n"
	    "  -V, --version       print the version\n", MBD_DEFAULT_CONF);
}

static int
mbd_parse(int argc, char **argv, struct mbd_opts *o)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'f' },
		{ "debug",	no_argument,		NULL, 'd' },
		{ "foreground",	no_argument,		NULL, 'F' },
		{ "check",	no_argument,		NULL, 'n' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->conf = MBD_DEFAULT_CONF;
	while ((c = getopt_long(argc, argv, "f:dFnhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->conf = optarg; break;
		case 'd': o->debug = o->foreground = 1; break;
		case 'F': o->foreground = 1; break;
		case 'n': o->check = 1; break;
		case 'h': mbd_usage(stdout); exit(0);
		case 'V': printf("moonboxd %s\n", PACKAGE_VERSION); exit(0);
		default: mbd_usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		mbd_usage(stderr);
		exit(2);
	}
	return 0;
}

static void __attribute__((noreturn))
mbd_fatal(const char *fmt, const char *arg)
{
	char msg[1200];

	snprintf(msg, sizeof msg, fmt, arg);
	log_err("%s", msg);
	exit(1);
}

/* As root, workers run as the configured user in an empty directory. */
static void
mbd_worker_identity(const struct settings *s)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if ((pw = getpwnam(s->user)) == NULL || pw->pw_uid == 0)
		mbd_fatal("user %s (to run workers as) does not exist or is "
		    "root; set 'user' in moonboxd.conf", s->user);
	M.worker_uid = pw->pw_uid;
	M.worker_gid = pw->pw_gid;
	if (s->chroot[0] != '\0') {
		if (strlen(s->chroot) >= sizeof M.chroot)
			mbd_fatal("chroot %s: path too long", s->chroot);
		memcpy(M.chroot, s->chroot, strlen(s->chroot) + 1);
		return;
	}
	snprintf(M.chroot, sizeof M.chroot, "/tmp/moonboxd-empty-XXXXXX");
	if (mkdtemp(M.chroot) == NULL || chmod(M.chroot, 0555) < 0)
		mbd_fatal("cannot make an empty directory for workers: %s",
		    strerror(errno));
	M.made_chroot = 1;
}

static void
mbd_detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		mbd_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		mbd_fatal("setsid: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (chdir("/") < 0)
		mbd_fatal("chdir: %s", strerror(errno));
}

static void mbd_spawner_closed(struct link *, const char *, void *);

static void
mbd_spawner_message(struct link *l, const char *buf, size_t len, void *ud)
{
	(void)l, (void)ud;
	pool_spawner_message(buf, len);
}

static const struct link_ops mbd_spawner_ops = {
	mbd_spawner_message, NULL, mbd_spawner_closed
};

/* A helper process (the spawner, the broker): this binary again, executed
 * afresh so it starts from a clean image, with its channel on HELPER_FD.
 * Returns our end of the channel, or -1. */
int
master_exec_self(char *const argv[], pid_t *pid)
{
	static char *const envp[] = { NULL };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if ((*pid = fork()) < 0) {
		close(sv[0]), close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		if (dup2(sv[1], SPAWNER_FD) < 0)
			_exit(127);
		close_range(SPAWNER_FD + 1, (unsigned)M.exe_fd - 1, 0);
		close_range((unsigned)M.exe_fd + 1, ~0U, 0);
		fexecve(M.exe_fd, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	return sv[0];
}

static int
mbd_start_spawner(void)
{
	static char *const argv[] = { "moonboxd", SPAWNER_ARG, NULL };
	int fd = master_exec_self(argv, &M.spawner_pid);

	if (fd < 0)
		return -1;
	M.spawner = link_new(M.base, fd, LINK_FRAMED, PROTO_FRAME_MAX,
	    &mbd_spawner_ops, NULL);
	return M.spawner != NULL ? 0 : -1;
}

/* Workers being spawned when it died will never report: they are lost,
 * and their pools start others. */
static void
mbd_spawner_closed(struct link *l, const char *why, void *ud)
{
	time_t t = time(NULL);

	(void)l, (void)ud;
	M.spawner = NULL;
	if (M.draining)
		return;
	log_err("the spawner is gone (%s); starting another", why);
	if (t - mbd.spawner_window > 60) {
		mbd.spawner_window = t;
		mbd.spawner_restarts = 0;
	}
	if (++mbd.spawner_restarts > MBD_SPAWNER_RESTARTS ||
	    mbd_start_spawner() < 0) {
		log_err("cannot keep a spawner running; exiting");
		mbd.exit_status = 1;
		event_base_loopbreak(M.base);
	}
}

static void
mbd_reap(void)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == M.spawner_pid) {
			M.spawner_pid = 0;
			continue;
		}
		if (pid == M.broker_pid) {
			M.broker_pid = 0;
			continue;
		}
		pool_reap(pid, st);
	}
}

static void mbd_check_drained(void);

/* Every few milliseconds: out once the clients have their replies, or
 * the flush time is over. */
static void
mbd_on_finish(evutil_socket_t fd, short what, void *ud)
{
	(void)fd, (void)what, (void)ud;
	mbd.finish_ticks++;
	if ((rpc_clients() == 0 && httpapi_connections() == 0) ||
	    mbd.finish_ticks * 20 >= MBD_FLUSH_MS)
		event_base_loopexit(M.base, NULL);
}

/* Every invocation answered: retire the workers, let replies out, exit. */
static void
mbd_check_drained(void)
{
	struct timeval tv = { 0, 20000 };

	if (!M.draining || master_jobs_open() > 0 || mbd.finish_timer != NULL)
		return;
	log_info("every invocation is answered; exiting");
	for (int i = 0; i < M.cur->npools; i++)
		pool_retire_idle(&M.cur->pools[i]);
	rpc_close_all();
	mbd.finish_timer = event_new(M.base, -1, EV_PERSIST, mbd_on_finish,
	    NULL);
	evtimer_add(mbd.finish_timer, &tv);
}

/* The drain timeout: what is still queued is refused, what still runs is
 * killed; each gets its answer. */
static void
mbd_on_drain_timeout(evutil_socket_t fd, short what, void *ud)
{
	(void)fd, (void)what, (void)ud;
	log_warn("drain timeout: %u invocations still open; ending them",
	    master_jobs_open());
	for (int i = 0; i < M.cur->npools; i++) {
		struct pool *p = &M.cur->pools[i];

		while (!TAILQ_EMPTY(&p->queue)) {
			struct job *j = TAILQ_FIRST(&p->queue);

			pool_unqueue(j);
			job_fail(j, MB_OVERLOADED, "moonboxd is shutting down; "
			    "retry on another instance");
		}
	}
	pool_kill_all();	/* old generations hold no queue */
}

static void
mbd_drain(void)
{
	struct timeval tv;

	if (M.draining)
		return;
	M.draining = 1;
	sd_tell("STOPPING=1");
	log_info("shutting down: no new connections; finishing %u "
	    "invocations", master_jobs_open());
	rpc_stop_listening();
	httpapi_stop_listening();
	unlink(mbd.listen);
	unlink(mbd.control);
	tv.tv_sec = (time_t)(M.cur->set.drain_us / 1000000);
	tv.tv_usec = (suseconds_t)(M.cur->set.drain_us % 1000000);
	mbd.drain_timer = evtimer_new(M.base, mbd_on_drain_timeout, NULL);
	evtimer_add(mbd.drain_timer, &tv);
	mbd_check_drained();
}

static void
mbd_on_check(evutil_socket_t fd, short what, void *ud)
{
	(void)fd, (void)what, (void)ud;
	mbd_check_drained();
}

/* An invocation was answered: while draining, see if that was the last,
 * from the loop rather than from deep inside the answer. */
void
master_jobs_changed(void)
{
	if (M.draining && mbd.check != NULL)
		event_active(mbd.check, EV_TIMEOUT, 0);
}

static void
mbd_on_signal(evutil_socket_t sig, short what, void *ud)
{
	char err[1024];

	(void)what, (void)ud;
	switch (sig) {
	case SIGHUP:
		if (!M.draining) {
			sd_tell("RELOADING=1");
			master_reload(err, sizeof err);
			sd_tell("READY=1");
		}
		break;
	case SIGCHLD:
		mbd_reap();
		break;
	default:
		mbd_drain();
	}
}

static void
mbd_on_tick(evutil_socket_t fd, short what, void *ud)
{
	(void)fd, (void)what, (void)ud;
	if (!M.draining) {
		pool_tick();
		bridge_stats();
	}
	mbd_check_drained();
}

static void
mbd_events(void)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD };
	struct timeval second = { 1, 0 };

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct event *ev = evsignal_new(M.base, sigs[i], mbd_on_signal,
		    NULL);

		if (ev == NULL || evsignal_add(ev, NULL) < 0)
			mbd_fatal("cannot handle signals%s", "");
	}
	M.tick = event_new(M.base, -1, EV_PERSIST, mbd_on_tick, NULL);
	evtimer_add(M.tick, &second);
	mbd.check = event_new(M.base, -1, 0, mbd_on_check, NULL);
	if (mbd.check == NULL)
		mbd_fatal("cannot start the event loop%s", "");
}

/* Our own binary, held open (so an upgrade in place does not change what
 * the spawner runs) on a descriptor high above the spawner's. */
static void
mbd_open_self(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || (M.exe_fd = fcntl(fd, F_DUPFD_CLOEXEC, 64)) < 0)
		mbd_fatal("cannot open our own binary: %s", strerror(errno));
	close(fd);
}

static void
mbd_open_sockets(const struct settings *s, int *lfd, int *cfd)
{
	char err[512];

	if ((*lfd = listen_unix(s->listen, s->listen_mode, s->listen_group, err,
	    sizeof err)) < 0 ||
	    (*cfd = listen_unix(s->control, 0600, "", err, sizeof err)) < 0)
		mbd_fatal("%s", err);
	snprintf(mbd.listen, sizeof mbd.listen, "%s", s->listen);
	snprintf(mbd.control, sizeof mbd.control, "%s", s->control);
}

/* A TCP listener's socket and token. Bound off loopback it must have a
 * token: refusing to start beats serving the network unauthenticated. */
static int
mbd_tcp(const struct set_tcp *t, const char *what, char *token, size_t len)
{
	char err[600];
	int fd, loopback = 0;

	token[0] = '\0';
	if ((fd = listen_tcp(t->host, t->port, &loopback, err, sizeof err)) < 0)
		mbd_fatal("%s", err);
	if (t->token_file[0] != '\0' &&
	    listen_token(t->token_file, token, len, err, sizeof err) < 0)
		mbd_fatal("%s", err);
	if (!loopback && token[0] == '\0') {
		snprintf(err, sizeof err, "%s %s:%d is not a loopback address: "
		    "give it a token-file", what, t->host, t->port);
		mbd_fatal("%s", err);
	}
	return fd;
}

static void
mbd_listen_tcp(const struct settings *s)
{
	char token[LISTEN_TOKEN_MAX];
	int fd;

	if (s->rpc_tcp.on) {
		fd = mbd_tcp(&s->rpc_tcp, "listen-tcp", token, sizeof token);
		if (rpc_listen(fd, RPC_CLIENT, token[0] ? token : NULL) < 0)
			mbd_fatal("cannot listen: %s", strerror(errno));
		log_info("msgpack-RPC on %s:%d%s", s->rpc_tcp.host,
		    s->rpc_tcp.port, token[0] ? " with a token" : "");
	}
	if (s->http.on) {
		fd = mbd_tcp(&s->http, "http", token, sizeof token);
		if (httpapi_start(M.base, fd, token[0] ? token : NULL, s) < 0)
			mbd_fatal("cannot serve HTTP: %s", strerror(errno));
		log_info("HTTP on %s:%d%s", s->http.host, s->http.port,
		    token[0] ? " with a token" : "");
	}
	explicit_bzero(token, sizeof token);
}

static void
mbd_exit_cleanup(void)
{
	pool_kill_all();
	mbd_reap();
	if (!M.draining) {
		unlink(mbd.listen);
		unlink(mbd.control);
	}
	if (M.made_chroot)
		rmdir(M.chroot);
}

int
main(int argc, char **argv)
{
	struct mbd_opts o = { 0 };
	struct gen *g;
	char err[1024] = "";
	int lfd, cfd;

	if (argc == 2 && strcmp(argv[1], SPAWNER_ARG) == 0)
		spawner_main(SPAWNER_FD);
	if (argc == 4 && strcmp(argv[1], BROKER_ARG) == 0)
		broker_main(SPAWNER_FD, argv[2], strcmp(argv[3], "stderr") == 0);
	mbd_parse(argc, argv, &o);
	log_init("moonboxd", 1, o.debug ? LOG_LV_DEBUG : LOG_LV_INFO);
	TAILQ_INIT(&M.old);
	TAILQ_INIT(&M.all);
	if ((g = gen_load(o.conf, err, sizeof err)) == NULL) {
		fprintf(stderr, "moonboxd: %s\n", err);
		return 1;
	}
	snprintf(M.conf_path, sizeof M.conf_path, "%s", g->set.path);
	if (o.check) {
		printf("moonboxd: %s is valid: %d pools, %zu rules\n",
		    g->set.path, g->npools, g->rules.n);
		gen_free(g);
		return 0;
	}
	M.debug = o.debug;
	M.foreground = o.foreground;
	mbd_open_self();
	mbd_worker_identity(&g->set);
	mbd_open_sockets(&g->set, &lfd, &cfd);
	if (!o.foreground) {
		mbd_detach();
		log_init("moonboxd", 0, g->set.log_level);
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		mbd_fatal("cannot become a subreaper: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &M.started);
	if ((M.base = event_base_new()) == NULL)
		mbd_fatal("cannot start the event loop%s", "");
	mbd_events();
	if (mbd_start_spawner() < 0)
		mbd_fatal("cannot start the spawner: %s", strerror(errno));
	if (bridge_start() < 0)
		mbd_fatal("cannot start the broker: %s", strerror(errno));
	gen_install(g);
	if (rpc_listen(lfd, RPC_CLIENT, NULL) < 0 ||
	    rpc_listen(cfd, RPC_CONTROL, NULL) < 0)
		mbd_fatal("cannot listen: %s", strerror(errno));
	mbd_listen_tcp(&g->set);
	log_info("moonboxd %s: listening on %s, %d pools, %zu rules",
	    PACKAGE_VERSION, g->set.listen, g->npools, g->rules.n);
	sd_tell("READY=1");
	event_base_dispatch(M.base);
	mbd_exit_cleanup();
	log_info("exiting");
	return mbd.exit_status;
}
