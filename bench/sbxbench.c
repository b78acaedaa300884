/*
 * sbxbench.c: the sandbox's side of bench/. Runs one rule N times through the
 * path a daemon worker takes, inv_prepare then inv_run under the given limits,
 * and prints one line per invocation, times in microseconds:
 *
 *   LABEL PREPARE RUN REQUEST INSTRUCTIONS RESULT
 *
 * PREPARE is inv_prepare: a fresh state with every kept library. RUN is
 * inv_run: compile the text, run the chunk, call its function, convert the
 * result, close the state. REQUEST is what a request waits for: RUN when the
 * sandbox is prepared ahead, after the previous reply (--prepare ahead, what
 * a worker does), PREPARE + RUN when it is prepared on the request path
 * (--prepare inline). INSTRUCTIONS is the count when a budget was given.
 *
 * With --measure compile it times only the compilation, in a fresh sandbox
 * each time: LABEL TEXT BYTECODE, where TEXT is sbx_load of the rule's text
 * (what inv_run does) and BYTECODE is lua_load of a dump this process made
 * of the same chunk: a figure for comparison, not a path moonbox takes.
 *
 * Uses invoke.c, sandbox.c, runopt.c (to read the rule) and report.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "invoke.h"
#include "report.h"
#include "runopt.h"
#include "sandbox.h"
#include "units.h"

struct bench {
	const char		*label;
	unsigned long		 count;
	int			 inline_prepare;
	int			 compile_only;
	clockid_t		 clock;
	struct lim_config	 limits;
};

/* A growing buffer for lua_dump. */
struct bench_dump {
	char			*buf;
	size_t			 len, cap;
};

static void
bench_usage(void)
{
	fputs("usage: sbxbench [--count N] [--instructions N] [--memory SIZE]\n"
	    "           [--timeout TIME] [--prepare ahead|inline]\n"
	    "           [--measure invoke|compile] [--clock cpu|wall]\n"
	    "           [--label WORD] RULE.lua\n", stderr);
}

static double
bench_now(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int
bench_choice(const char *arg, const char *yes, const char *no, int *v)
{
	if (strcmp(arg, yes) != 0 && strcmp(arg, no) != 0)
		return -1;
	*v = strcmp(arg, yes) == 0;
	return 0;
}

static int
bench_option(struct bench *b, int c, const char *arg)
{
	uint64_t v;
	int cpu;

	switch (c) {
	case 'n':
		if (units_count(arg, &v) < 0 || v == 0)
			return -1;
		b->count = (unsigned long)v;
		return 0;
	case 'i':
		return units_count(arg, &b->limits.instructions);
	case 'm':
		return units_size(arg, &b->limits.memory) < 0 ||
		    b->limits.memory == 0 ? -1 : 0;
	case 't':
		return units_time_us(arg, &b->limits.timeout_us) < 0 ||
		    b->limits.timeout_us == 0 ? -1 : 0;
	case 'p':
		return bench_choice(arg, "inline", "ahead", &b->inline_prepare);
	case 'M':
		return bench_choice(arg, "compile", "invoke", &b->compile_only);
	case 'c':
		if (bench_choice(arg, "cpu", "wall", &cpu) < 0)
			return -1;
		b->clock = cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
		return 0;
	case 'l':
		b->label = arg;
		return 0;
	default:
		return -1;
	}
}

static int
bench_parse(int argc, char **argv, struct bench *b)
{
	static const struct option opts[] = {
		{ "count",		required_argument, NULL, 'n' },
		{ "instructions",	required_argument, NULL, 'i' },
		{ "memory",		required_argument, NULL, 'm' },
		{ "timeout",		required_argument, NULL, 't' },
		{ "prepare",		required_argument, NULL, 'p' },
		{ "measure",		required_argument, NULL, 'M' },
		{ "clock",		required_argument, NULL, 'c' },
		{ "label",		required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(b, 0, sizeof *b);
	b->label = "sbx";
	b->count = 20;
	b->clock = CLOCK_PROCESS_CPUTIME_ID;
	lim_defaults(&b->limits);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (bench_option(b, c, optarg) < 0) {
			bench_usage();
			return -1;
		}
	if (optind != argc - 1) {
		bench_usage();
		return -1;
	}
	return 0;
}

static int
bench_writer(lua_State *L, const void *p, size_t n, void *ud)
{
	struct bench_dump *d = ud;

	(void)L;
	if (d->len + n > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		char *q;

		while (cap < d->len + n)
			cap *= 2;
		if ((q = realloc(d->buf, cap)) == NULL)
			return 1;
		d->buf = q;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

/* The rule's chunk as this process dumps it, debug information kept. */
static int
bench_dump(const struct inv_request *req, struct bench_dump *d)
{
	struct inv_sandbox sb;
	int status;

	if (inv_prepare(&sb) < 0)
		return -1;
	status = sbx_load(sb.L, req->source, req->source_len, req->chunkname);
	if (status == LUA_OK)
		status = lua_dump(sb.L, bench_writer, d, 0);
	lua_close(sb.L);
	return status == LUA_OK ? 0 : -1;
}

/* Time one load into a fresh sandbox: the text, or the dump if d is set. */
static double
bench_load(const struct bench *b, const struct inv_request *req,
    const struct bench_dump *d)
{
	struct inv_sandbox sb;
	double t0, t1;
	int status;

	if (inv_prepare(&sb) < 0)
		return -1;
	t0 = bench_now(b->clock);
	if (d == NULL)
		status = sbx_load(sb.L, req->source, req->source_len,
		    req->chunkname);
	else
		status = luaL_loadbufferx(sb.L, d->buf, d->len,
		    req->chunkname, "b");
	t1 = bench_now(b->clock);
	lua_close(sb.L);
	return status == LUA_OK ? t1 - t0 : -1;
}

static int
bench_compile(const struct bench *b, const struct inv_request *req)
{
	struct bench_dump d = { 0 };
	int status = bench_dump(req, &d);

	for (unsigned long k = 0; k < b->count && status == 0; k++) {
		double text = bench_load(b, req, NULL);
		double code = bench_load(b, req, &d);

		if (text < 0 || code < 0)
			status = -1;
		else
			printf("%s %.1f %.1f\n", b->label, text, code);
	}
	if (status < 0)
		fprintf(stderr, "sbxbench: %s does not compile\n",
		    req->chunkname + 1);
	free(d.buf);
	return status;
}

/* One invocation; sb is prepared already unless the prepare is inline. */
static int
bench_invoke(const struct bench *b, struct inv_sandbox *sb,
    const struct inv_request *req)
{
	struct inv_outcome out;
	double t0, t1, t2, prepare, request;
	char *result;

	inv_outcome_init(&out);		/* allocates nothing */
	t0 = bench_now(b->clock);
	if (b->inline_prepare && inv_prepare(sb) < 0)
		return -1;
	t1 = bench_now(b->clock);
	inv_run(sb, req, &out);
	t2 = bench_now(b->clock);
	inv_discard(sb);		/* after the answer, as a worker does */
	if (b->inline_prepare) {
		prepare = t1 - t0;
		request = t2 - t0;
	} else {			/* ahead: for the next request */
		if (inv_prepare(sb) < 0)
			out.kind = MB_INTERNAL;
		prepare = bench_now(b->clock) - t2;
		request = t2 - t1;
	}
	if (out.kind != MB_OK) {
		fprintf(stderr, "sbxbench: %s: %s\n", kind_name(out.kind),
		    out.message);
		inv_outcome_free(&out);
		return -1;
	}
	result = report_result(&out);
	printf("%s %.1f %.1f %.1f %llu %s\n", b->label, prepare, t2 - t1,
	    request, out.counted ? (unsigned long long)out.instructions : 0ull,
	    result != NULL ? result : "?");
	free(result);
	inv_outcome_free(&out);
	return 0;
}

static int
bench_run(const struct bench *b, const struct inv_request *req)
{
	struct inv_sandbox sb = { 0 };
	int status = 0;

	if (!b->inline_prepare && inv_prepare(&sb) < 0)
		return -1;
	for (unsigned long k = 0; k < b->count && status == 0; k++)
		status = bench_invoke(b, &sb, req);
	if (sb.L != NULL)
		lua_close(sb.L);
	return status;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct inv_request req = { 0 };
	struct inv_outcome out;
	char *store[3] = { NULL, NULL, NULL };
	int status;

	if (bench_parse(argc, argv, &b) < 0)
		return 2;
	if (sbx_init() < 0) {
		fputs("sbxbench: cannot set up the runtime\n", stderr);
		return 3;
	}
	inv_outcome_init(&out);
	if (runopt_rule(argv[optind], &req, store, &out) < 0) {
		fprintf(stderr, "sbxbench: %s\n", out.message);
		inv_outcome_free(&out);
		return 2;
	}
	inv_outcome_free(&out);
	req.limits = b.limits;
	status = b.compile_only ? bench_compile(&b, &req) : bench_run(&b, &req);
	for (int k = 0; k < 3; k++)
		free(store[k]);
	return status < 0 ? 1 : 0;
}
