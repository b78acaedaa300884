/*
 * failalloc.c: an LD_PRELOAD shim for t/exhaust-alloc.t that makes memory
 * allocation fail on purpose in the process it is loaded into (moonboxd's
 * master: the helpers it runs get an empty environment, so not them).
 *
 *   MB_FAILALLOC=N          the Nth call of malloc, calloc or realloc
 *                           (counted from 1) returns NULL with ENOMEM
 *   MB_FAILALLOC_EVERY=K    and every Kth call after it too
 *   MB_FAILALLOC_REPORT=F   at exit, write the number of calls and of
 *                           failures to the file F
 *   MB_FAILALLOC_TRACE=1    write the stack of each failed call to the
 *                           standard error (to find what failed)
 *
 * Calls go to glibc's own __libc_malloc and friends, so the shim needs no
 * dlsym (which allocates) and frees nothing itself.
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void	*__libc_malloc(size_t);
void	*__libc_calloc(size_t, size_t);
void	*__libc_realloc(void *, size_t);

static atomic_ulong fa_calls, fa_failed;
static unsigned long fa_at, fa_every;
static int fa_ready, fa_trace;

static unsigned long
fa_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? strtoul(v, NULL, 10) : 0;
}

/* Whether this call fails. getenv allocates nothing. */
static int
fa_fail(void)
{
	unsigned long n;

	if (!fa_ready) {
		fa_ready = 1;
		fa_at = fa_env("MB_FAILALLOC");
		fa_every = fa_env("MB_FAILALLOC_EVERY");
		fa_trace = fa_env("MB_FAILALLOC_TRACE") != 0;
	}
	n = ++fa_calls;
	if (fa_at == 0 || n < fa_at)
		return 0;
	if (n == fa_at || (fa_every > 0 && (n - fa_at) % fa_every == 0)) {
		fa_failed++;
		if (fa_trace) {
			void *pcs[32];
			char line[64];
			int k = snprintf(line, sizeof line, "failalloc: call %lu "
			    "fails, from\n", n);

			(void)!write(2, line, (size_t)k);
			/* backtrace() may allocate once, to load libgcc:
			 * that call is counted and does not fail. */
			fa_at = 0;
			backtrace_symbols_fd(pcs, backtrace(pcs, 32), 2);
			fa_at = n - (fa_every > 0 ? 0 : 1);
		}
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *
malloc(size_t n)
{
	return fa_fail() ? NULL : __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	return fa_fail() ? NULL : __libc_calloc(n, size);
}

/* realloc(p, 0) frees: not an allocation that can fail. */
void *
realloc(void *p, size_t n)
{
	if (n > 0 && fa_fail())
		return NULL;
	return __libc_realloc(p, n);
}

/* The report, written with write(2) only. */
static void __attribute__((destructor))
fa_report(void)
{
	const char *path = getenv("MB_FAILALLOC_REPORT");
	char line[96];
	int fd, n;

	if (path == NULL || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) < 0)
		return;
	n = snprintf(line, sizeof line, "calls=%lu failed=%lu\n",
	    (unsigned long)fa_calls, (unsigned long)fa_failed);
	if (n > 0)
		(void)!write(fd, line, (size_t)n);
	close(fd);
}
