/*
 * hookcost.c: what each way of watching a running rule costs on the stock
 * Lua library, without moonbox: a bare state (luaL_openlibs) runs the
 * function a rule file returns, under one hook set-up at a time, the set-ups
 * taken in turn so that all see the same machine. One line per call:
 *
 *   hook VARIANT MICROSECONDS HOOK_CALLS
 *
 * usage: hookcost RULE.lua ROUNDS [VARIANT...] (default: every variant).
 * Variants: none; count:K (a count hook every K instructions, the way an
 * instruction budget is counted); line; call (a call hook only); timer:US (no
 * hook, but a timer that arms a one-shot count hook every US microseconds,
 * the way a deadline is watched). CPU time of the process. Uses only Lua.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

struct hc_variant {
	const char	*name;
	int		 mask;		/* of the hook set before the call */
	int		 count;
	long		 timer_us;	/* 0: no timer */
};

static const struct hc_variant hc_variants[] = {
	{ "none",		0,		0,		0 },
	{ "count:1",		LUA_MASKCOUNT,	1,		0 },
	{ "count:100",		LUA_MASKCOUNT,	100,		0 },
	{ "count:10000",	LUA_MASKCOUNT,	10000,		0 },
	{ "count:max",		LUA_MASKCOUNT,	INT_MAX,	0 },
	{ "line",		LUA_MASKLINE,	0,		0 },
	{ "call",		LUA_MASKCALL,	0,		0 },
	{ "timer:1000",		0,		0,		1000 },
	{ "timer:100",		0,		0,		100 },
};

static lua_State *volatile hc_running;
static volatile long hc_calls;

static void
hc_hook(lua_State *L, lua_Debug *ar)
{
	(void)L, (void)ar;
	hc_calls++;
}

/* Armed by the timer: runs once, then takes itself away. */
static void
hc_hook_once(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	hc_calls++;
	lua_sethook(L, NULL, 0, 0);
}

static void
hc_on_alarm(int sig)
{
	(void)sig;
	if (hc_running != NULL)
		lua_sethook(hc_running, hc_hook_once, LUA_MASKCOUNT, 1);
}

static double
hc_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void
hc_timer(long us)
{
	struct itimerval it = { { 0, us }, { 0, us } };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* Call the rule's function (at index 1) once under v. */
static int
hc_call(lua_State *L, const struct hc_variant *v)
{
	double t0, t1;

	hc_calls = 0;
	if (v->mask != 0)
		lua_sethook(L, hc_hook, v->mask, v->count);
	hc_running = L;
	if (v->timer_us > 0)
		hc_timer(v->timer_us);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	lua_newtable(L);
	t0 = hc_now();
	if (lua_pcall(L, 2, 1, 0) != LUA_OK)
		return -1;
	t1 = hc_now();
	hc_timer(0);
	hc_running = NULL;
	lua_sethook(L, NULL, 0, 0);
	lua_pop(L, 1);
	printf("hook %s %.1f %ld\n", v->name, t1 - t0, hc_calls);
	return 0;
}

/* Whether the command line asks for this variant. */
static int
hc_wanted(int argc, char **argv, const char *name)
{
	if (argc == 3)
		return 1;
	for (int i = 3; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	size_t nv = sizeof hc_variants / sizeof hc_variants[0];
	lua_State *L;
	long rounds;

	if (argc < 3 || (rounds = strtol(argv[2], NULL, 10)) <= 0) {
		fputs("usage: hookcost RULE.lua ROUNDS [VARIANT...]\n", stderr);
		return 2;
	}
	if ((L = luaL_newstate()) == NULL || signal(SIGALRM, hc_on_alarm)
	    == SIG_ERR)
		return 3;
	luaL_openlibs(L);
	if (luaL_loadfilex(L, argv[1], "t") != LUA_OK ||
	    lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_isfunction(L, 1)) {
		fprintf(stderr, "hookcost: %s: %s\n", argv[1],
		    lua_isstring(L, -1) ? lua_tostring(L, -1) : "no function");
		return 2;
	}
	for (long r = 0; r < rounds; r++)
		for (size_t k = 0; k < nv; k++)
			if (hc_wanted(argc, argv, hc_variants[k].name) &&
			    hc_call(L, &hc_variants[k]) < 0) {
				fprintf(stderr, "hookcost: %s\n",
				    lua_tostring(L, -1));
				return 1;
			}
	lua_close(L);
	return 0;
}
