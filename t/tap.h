/*
 * tap.h: the Test Anything Protocol for the C unit tests (t/unit-*.c), the
 * few calls Perl's Test::More taught everyone: plan, ok, is_int, is_str,
 * diag, done_testing. A program's exit status is 0 only if every test passed.
 */
#ifndef MB_TAP_H
#define MB_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_run, tap_failed, tap_planned;

static inline void
plan(int n)
{
	tap_planned = 1;
	printf("1..%d\n", n);
}

static inline void
diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
}

static inline int
tap_vok(int pass, const char *file, int line, const char *fmt, va_list ap)
{
	printf("%sok %d - ", pass ? "" : "not ", ++tap_run);
	vprintf(fmt, ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		diag("  Failed test at %s line %d.", file, line);
	}
	fflush(stdout);
	return pass;
}

static inline int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pass = tap_vok(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

static inline int
tap_is_int(long long got, long long want, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	int pass;

	va_start(ap, fmt);
	pass = tap_vok(got == want, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("       got: %lld\n#   expected: %lld", got, want);
	return pass;
}

static inline int
tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	int pass = got != NULL && want != NULL ? strcmp(got, want) == 0 :
	    got == want;

	va_start(ap, fmt);
	pass = tap_vok(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("       got: %s%s%s\n#   expected: %s%s%s",
		    got ? "'" : "", got ? got : "NULL", got ? "'" : "",
		    want ? "'" : "", want ? want : "NULL", want ? "'" : "");
	return pass;
}

#define ok(cond, ...)	tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, \
	    __VA_ARGS__)
#define is_str(got, want, ...) \
	tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

/* Print the plan if none was given; the exit status for main. */
static inline int
done_testing(void)
{
	if (!tap_planned)
		printf("1..%d\n", tap_run);
	if (tap_failed)
		diag("Looks like you failed %d test%s of %d.", tap_failed,
		    tap_failed == 1 ? "" : "s", tap_run);
	return tap_failed ? 1 : 0;
}

#endif
