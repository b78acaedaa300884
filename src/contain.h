/*
 * contain.h: a worker's containment (contain.c): one ordered list of small
 * steps, each fatal on failure, seccomp last. After it the process holds
 * nothing but its channels and cannot open, connect, fork, exec or ptrace.
 */
#ifndef MB_CONTAIN_H
#define MB_CONTAIN_H

#include <stddef.h>
#include <sys/types.h>

struct contain_config {
	const int	*keep_fds;	/* the channels, kept open */
	int		 nkeep;
	size_t		 address_space;	/* RLIMIT_AS bytes; 0: left alone */
	unsigned	 cpu_seconds;	/* RLIMIT_CPU; 0: left alone */
	/* Only when started as root: */
	uid_t		 uid;		/* drop to this user and group */
	gid_t		 gid;
	const char	*empty_dir;	/* chroot here */
};

/* Run every step in order. Returns 0, or -1 with the failed step and why
 * in err; the caller must then exit. */
int	contain(const struct contain_config *, char *, size_t);

#endif
