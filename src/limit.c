/*
 * limit.c: the counting allocator, the count hook, the deadline timer and the
 * instruction accounting across coroutines. Uses Lua's C API only; the one
 * field the API does not expose (a thread's running hook count) is located
 * once at start-up by lim_init() and checked there, or budgets are refused.
 * The same hook passes line events to a line callback when one is set.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <jansson.h>
#include <lauxlib.h>

#include "limit.h"

#define LIM_REARM_US	5000	/* after the deadline, re-arm this often */

static struct lim *volatile lim_current;	/* the invocation the timer serves */
static ptrdiff_t hookcount_at = -1;		/* offset of lua_State.hookcount */

void
lim_defaults(struct lim_config *c)
{
	c->memory = LIM_DEFAULT_MEMORY;
	c->instructions = LIM_DEFAULT_INSTRUCTIONS;
	c->timeout_us = LIM_DEFAULT_TIMEOUT_US;
	c->output = LIM_DEFAULT_OUTPUT;
	c->log = LIM_DEFAULT_LOG;
	c->calls = LIM_DEFAULT_CALLS;
}

void
lim_reset(struct lim *m, const struct lim_config *c)
{
	memset(m, 0, sizeof *m);
	m->cfg = *c;
	m->left = c->instructions;
}

struct lim *
lim_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

static void
lim_mark(struct lim *m, enum mb_kind k)
{
	if (m->hit == MB_OK)
		m->hit = k;
}

static void lim_hook(lua_State *, lua_Debug *);

/* Make the next instruction of L raise the sticky error. */
static void
lim_trip(lua_State *L)
{
	if (L != NULL)
		lua_sethook(L, lim_hook, LUA_MASKCOUNT, 1);
}

/*
 * lua_Alloc. When ptr is NULL, osize is a type code, not a size. Growth past
 * the limit is refused, and once refused every later growth is too, so an
 * emergency collection cannot let a pcall-ed rule run on.
 */
void *
lim_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lim *m = ud;
	size_t old = ptr != NULL ? osize : 0;
	size_t cap = m->cfg.memory + (m->trusted ? LIM_TRUSTED_RESERVE : 0);
	void *p;

	if (nsize == 0) {
		free(ptr);
		m->used -= old;
		return NULL;
	}
	if (nsize > old && (m->hit == MB_MEMORY ||
	    nsize - old > cap || m->used + (nsize - old) > cap)) {
		lim_mark(m, MB_MEMORY);
		lim_trip(m->running);
		return NULL;
	}
	if ((p = realloc(ptr, nsize)) == NULL)
		return nsize <= old ? ptr : NULL;	/* Lua relies on shrinking */
	m->used = m->used - old + nsize;
	if (m->used > m->peak)
		m->peak = m->used;
	return p;
}

/* Instructions L ran since its count was last armed. */
static uint64_t
lim_ran(lua_State *L)
{
	int base = lua_gethookcount(L), now;

	if (base <= 0 || lua_gethook(L) != lim_hook)
		return 0;
	memcpy(&now, (const char *)L + hookcount_at, sizeof now);
	return now > 0 && now <= base ? (uint64_t)(base - now) : 0;
}

static void
lim_spend(struct lim *m, uint64_t n)
{
	if (n > m->left)
		n = m->left;
	m->left -= n;
	m->counted += n;
	if (m->cfg.instructions > 0 && m->left == 0)
		lim_mark(m, MB_INSTRUCTIONS);
}

/* Arm the count hook to fire before the instruction after the last one
 * the budget allows: Lua calls a count hook before the instruction that
 * brings the count to zero, not after it. */
static void
lim_arm(struct lim *m, lua_State *L)
{
	lua_sethook(L, lim_hook, LUA_MASKCOUNT |
	    (m->on_line != NULL ? LUA_MASKLINE : 0),
	    m->left >= INT_MAX ? INT_MAX : (int)m->left + 1);
}

/* L takes the CPU: arm its hook for what is left of the budget, and for
 * line events if they are wanted. */
void
lim_enter(struct lim *m, lua_State *L)
{
	m->running = L;
	if (m->hit != MB_OK || m->expired)
		lim_trip(L);
	else if (m->cfg.instructions > 0)
		lim_arm(m, L);
	else if (m->on_line != NULL)
		lua_sethook(L, lim_hook, LUA_MASKLINE, 0);
}

/* L gives up the CPU: settle what it ran. */
void
lim_leave(struct lim *m, lua_State *L)
{
	if (m->cfg.instructions > 0 && m->hit == MB_OK && !m->expired)
		lim_spend(m, lim_ran(L));
}

const char *
lim_describe(const struct lim *m, char *buf, size_t len)
{
	switch (m->hit) {
	case MB_MEMORY:
		snprintf(buf, len, "memory limit of %zu bytes exceeded",
		    m->cfg.memory);
		break;
	case MB_INSTRUCTIONS:
		snprintf(buf, len, "instruction budget of %llu exhausted",
		    (unsigned long long)m->cfg.instructions);
		break;
	case MB_TIMEOUT:
		snprintf(buf, len, "deadline of %llu ms passed",
		    (unsigned long long)((m->cfg.timeout_us + 500) / 1000));
		break;
	default:
		snprintf(buf, len, "no limit hit");
	}
	return buf;
}

/* Raise the sticky error in L if a limit was hit; return 0 otherwise. */
int
lim_check(struct lim *m, lua_State *L)
{
	char msg[128];

	if (m->hit == MB_OK && m->expired)
		lim_mark(m, MB_TIMEOUT);
	if (m->hit == MB_OK)
		return 0;
	lim_trip(L);
	return luaL_error(L, "%s", lim_describe(m, msg, sizeof msg));
}

/*
 * Bytes of C stack in use since lim_start. Lua 5.4.4 bounds nested C calls
 * per chain of coroutines, but coroutine.close restarts the count, so
 * closes nested inside deep C calls could overflow the real stack. The
 * frame address, not a local's: a sanitizer may keep locals on the heap.
 */
size_t
lim_cstack_used(const struct lim *m)
{
	uintptr_t at = (uintptr_t)__builtin_frame_address(0);

	if (m->cstack0 == 0)
		return 0;
	return at < m->cstack0 ? m->cstack0 - at : at - m->cstack0;
}

/* Bytes a C library may still hold for the invocation outside the state. */
size_t
lim_room(const struct lim *m)
{
	return m->used < m->cfg.memory ? m->cfg.memory - m->used : 0;
}

/* A C library needed more than lim_room: the memory limit is hit. */
void
lim_overrun(struct lim *m)
{
	lim_mark(m, MB_MEMORY);
	lim_trip(m->running);
}

/* One hook for both masks: a line event goes to the line callback and
 * leaves the count alone; a count event settles the budget. */
static void
lim_hook(lua_State *L, lua_Debug *ar)
{
	struct lim *m = lim_of(L);

	if (ar->event == LUA_HOOKLINE) {
		if (m->on_line != NULL && m->hit == MB_OK && !m->expired)
			m->on_line(m->on_line_ud, L, ar);
		return;
	}
	if (m->hit == MB_OK && !m->expired && m->cfg.instructions > 0) {
		/* The slice ran all but the instruction about to run. */
		lim_spend(m, (uint64_t)lua_gethookcount(L) - 1);
		if (m->hit == MB_OK) {
			m->left--;		/* it runs: count it, then */
			m->counted++;		/* a new slice of the budget */
			lim_arm(m, L);
			return;
		}
	}
	lim_check(m, L);
}

/* SIGALRM: only mark and arm a hook; the hook raises the error. */
static void
lim_on_alarm(int sig)
{
	struct lim *m = lim_current;

	(void)sig;
	if (m == NULL)
		return;
	m->expired = 1;
	lim_trip(m->running);
}

static double
lim_ms_since(clockid_t clock, const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Start the clocks of an invocation whose main thread is L. CPU time is the
 * thread's clock: once RLIMIT_CPU is set, the process clock advances only
 * at scheduler ticks. */
int
lim_start(struct lim *m, lua_State *L)
{
	struct itimerval it = { { 0, LIM_REARM_US }, { 0, 0 } };

	it.it_value.tv_sec = (time_t)(m->cfg.timeout_us / 1000000);
	it.it_value.tv_usec = (suseconds_t)(m->cfg.timeout_us % 1000000);
	clock_gettime(CLOCK_MONOTONIC, &m->wall0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &m->cpu0);
	m->cstack0 = (uintptr_t)__builtin_frame_address(0);
	lim_enter(m, L);
	lim_current = m;
	if (setitimer(ITIMER_REAL, &it, NULL) == -1) {
		lim_current = NULL;
		return -1;
	}
	return 0;
}

void
lim_stop(struct lim *m)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &off, NULL);
	lim_current = NULL;
	m->cstack0 = 0;
	if (m->running != NULL) {
		lim_leave(m, m->running);
		lua_sethook(m->running, NULL, 0, 0);
	}
	m->running = NULL;
	m->wall_ms = lim_ms_since(CLOCK_MONOTONIC, &m->wall0);
	m->cpu_ms = lim_ms_since(CLOCK_THREAD_CPUTIME_ID, &m->cpu0);
}

/*
 * jansson's allocations inside the sandbox (json.decode, json.encode) count
 * against the invocation's memory, as the Lua state's own do.
 */
struct lim_jblock {
	size_t		size;
	max_align_t	align[];
};

static void *
lim_json_malloc(size_t n)
{
	struct lim *m = lim_current;
	struct lim_jblock *b;

	if (m != NULL && (n > m->cfg.memory || m->used + n > m->cfg.memory)) {
		lim_mark(m, MB_MEMORY);
		lim_trip(m->running);
		return NULL;
	}
	if (n > SIZE_MAX - sizeof *b || (b = malloc(sizeof *b + n)) == NULL)
		return NULL;
	b->size = m != NULL ? n : 0;
	if (m != NULL && (m->used += n) > m->peak)
		m->peak = m->used;
	return b->align;
}

static void
lim_json_free(void *p)
{
	struct lim *m = lim_current;
	struct lim_jblock *b;

	if (p == NULL)
		return;
	b = (struct lim_jblock *)((char *)p - offsetof(struct lim_jblock, align));
	if (m != NULL && b->size <= m->used)
		m->used -= b->size;
	free(b);
}

/* Find lua_State.hookcount: arm a known count, run a few instructions, and
 * look for the pair (basehookcount, hookcount) that follows it. */
static void lim_noop_hook(lua_State *L, lua_Debug *ar) { (void)L; (void)ar; }

static size_t calib_block;	/* size of the state's first allocation */

static void *
lim_calib_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	(void)ud;
	if (ptr == NULL && calib_block == 0)
		calib_block = nsize;	/* the main thread and global state */
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, nsize);
}

static ptrdiff_t
lim_find_hookcount(lua_State *L, size_t span, int armed)
{
	const char *p = (const char *)L;
	int base, now;

	for (size_t off = 0; off + 2 * sizeof(int) <= span; off += sizeof(int)) {
		memcpy(&base, p + off, sizeof base);
		memcpy(&now, p + off + sizeof(int), sizeof now);
		if (base == armed && now < armed && now > armed - 64)
			return (ptrdiff_t)(off + sizeof(int));
	}
	return -1;
}

int
lim_init(void)
{
	const int armed = 0x3a5a5a5a;
	lua_State *L;
	int now = 0;

	json_set_alloc_funcs(lim_json_malloc, lim_json_free);
	if (signal(SIGALRM, lim_on_alarm) == SIG_ERR)
		return -1;
	calib_block = 0;
	if ((L = lua_newstate(lim_calib_alloc, NULL)) == NULL)
		return -1;
	lua_sethook(L, lim_noop_hook, LUA_MASKCOUNT, armed);
	if (luaL_loadstring(L, "local a, b = 1, 2 return a + b") == LUA_OK &&
	    lua_pcall(L, 0, 0, 0) == LUA_OK && calib_block > 0)
		hookcount_at = lim_find_hookcount(L,
		    calib_block - LUA_EXTRASPACE, armed);
	if (hookcount_at >= 0) {
		/* Check it moves as a hook count must, on a new thread too. */
		lua_State *T = lua_newthread(L);
		lua_sethook(T, lim_noop_hook, LUA_MASKCOUNT, 1000);
		memcpy(&now, (const char *)T + hookcount_at, sizeof now);
		if (now != 1000)
			hookcount_at = -1;
	}
	lua_close(L);
	return 0;
}

/* Whether exact instruction budgets can be counted on this Lua. */
int
lim_can_count(void)
{
	return hookcount_at >= 0;
}

/* Keep a log line if it fits under the log limit; count it as dropped if not. */
int
lim_log_append(struct lim *m, const char *s, size_t n)
{
	struct lim_log *g = &m->log;
	uint32_t n32 = (uint32_t)n;
	size_t need = sizeof n32 + n;

	if (n > UINT32_MAX || n > m->cfg.log || g->bytes + n > m->cfg.log) {
		g->dropped++;
		return -1;
	}
	if (g->len + need > g->cap) {
		size_t cap = g->cap ? g->cap : 256;
		char *p;

		while (cap < g->len + need)
			cap *= 2;
		if ((p = realloc(g->buf, cap)) == NULL) {
			g->dropped++;
			return -1;
		}
		g->buf = p;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, &n32, sizeof n32);
	memcpy(g->buf + g->len + sizeof n32, s, n);
	g->len += need;
	g->bytes += n;
	g->lines++;
	return 0;
}

/* Walk the log: *at starts at 0; returns 0 at the end. */
int
lim_log_next(const struct lim *m, size_t *at, const char **s, size_t *n)
{
	uint32_t n32;

	if (*at + sizeof n32 > m->log.len)
		return 0;
	memcpy(&n32, m->log.buf + *at, sizeof n32);
	*s = m->log.buf + *at + sizeof n32;
	*n = n32;
	*at += sizeof n32 + n32;
	return 1;
}

void
lim_log_free(struct lim *m)
{
	free(m->log.buf);
	memset(&m->log, 0, sizeof m->log);
}
