/*
 * limit.h: the limits of one invocation, enforced in the Lua allocator, a count
 * hook and a wall-clock timer (DESIGN.md "One invocation", step 3).
 *
 * Time is free until it runs out: no hook is set while a rule runs unless an
 * instruction budget was asked for; a timer signal arms a hook on the running
 * coroutine at the deadline (as lua.c does for SIGINT). An exact instruction
 * budget uses a count hook, settled at every coroutine switch.
 * A limit once hit stays hit: every thread entered afterwards, and the thread
 * running when it was hit, raise an error at their next instruction.
 *
 * A thread has one hook. When a line callback is set (moonbox test
 * --coverage), the same hook also takes line events and hands them to it;
 * the count and the budget are unchanged by them.
 */
#ifndef MB_LIMIT_H
#define MB_LIMIT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <lua.h>

#include "kind.h"

#define LIM_DEFAULT_MEMORY		(8u << 20)
#define LIM_DEFAULT_INSTRUCTIONS	0
#define LIM_DEFAULT_TIMEOUT_US		(1000u * 1000u)
#define LIM_DEFAULT_OUTPUT		(64u << 10)
#define LIM_DEFAULT_LOG			(64u << 10)
#define LIM_DEFAULT_CALLS		100	/* capability calls */
#define LIM_MAX_DEPTH			64	/* nesting of values in and out */
#define LIM_TRUSTED_RESERVE		(64u << 10)	/* for error messages */
#define LIM_MAX_CSTACK			(1u << 20)	/* C stack a switch of
							 * coroutine may start at */

struct lim_config {
	size_t		memory;		/* bytes of the Lua state, > 0 */
	uint64_t	instructions;	/* VM instructions; 0: not counted */
	uint64_t	timeout_us;	/* wall clock, > 0 */
	size_t		output;		/* bytes of the encoded result */
	size_t		log;		/* bytes of log lines */
	uint64_t	calls;		/* capability calls */
};

/* The invocation's log: entries of (uint32_t length, bytes), capped. */
struct lim_log {
	char		*buf;
	size_t		 len, cap;
	size_t		 bytes;		/* text bytes kept */
	unsigned	 lines, dropped;
};

/* Called from the hook at each new line a thread runs; hooks are off while
 * it runs, and it must not raise errors or run Lua code. */
typedef void	(*lim_line_fn)(void *, lua_State *, lua_Debug *);

struct lim {
	struct lim_config	cfg;
	lim_line_fn		on_line;	/* NULL: no line events */
	void			*on_line_ud;
	struct lim_log		log;
	int			nclose;		/* nested coroutine.close */
	uint64_t		calls;		/* capability calls made */
	enum mb_kind		raised;		/* kind of a capability error */
	size_t			used;		/* bytes held by the state */
	size_t			peak;
	int			trusted;	/* trusted code may use the reserve */
	uint64_t		left;		/* instructions left */
	uint64_t		counted;	/* instructions settled */
	enum mb_kind		hit;		/* first limit hit; sticky */
	volatile sig_atomic_t	expired;	/* set by the timer */
	lua_State *volatile	running;	/* the coroutine on the CPU */
	struct timespec		wall0, cpu0;
	uintptr_t		cstack0;	/* C stack at lim_start */
	double			wall_ms, cpu_ms;
};

void	 lim_defaults(struct lim_config *);
int	 lim_init(void);
int	 lim_can_count(void);
void	 lim_reset(struct lim *, const struct lim_config *);
void	*lim_alloc(void *, void *, size_t, size_t);
int	 lim_start(struct lim *, lua_State *);
void	 lim_stop(struct lim *);
void	 lim_enter(struct lim *, lua_State *);
void	 lim_leave(struct lim *, lua_State *);
int	 lim_check(struct lim *, lua_State *);
size_t	 lim_cstack_used(const struct lim *);
size_t	 lim_room(const struct lim *);
void	 lim_overrun(struct lim *);
const char *lim_describe(const struct lim *, char *, size_t);
struct lim *lim_of(lua_State *);
int	 lim_log_append(struct lim *, const char *, size_t);
void	 lim_log_free(struct lim *);
int	 lim_log_next(const struct lim *, size_t *, const char **, size_t *);

#endif
