/*
 * replay.c: a harness of t/fuzz/ without libFuzzer, built by `make check`
 * with the ordinary compiler: each file named is one input, run once
 * through LLVMFuzzerTestOneInput. replay.t runs the seeds and every input
 * a fuzzer ever failed on (t/fuzz/regress/) this way, so a fixed bug stays
 * fixed, under the sanitizer build of CI too.
 *
 *   replay-NAME FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

/* The whole file, in memory of exactly its size (so that ASan sees a read
 * past its end). */
static unsigned char *
replay_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc(len > 0 ? (size_t)len : 1)) != NULL &&
	    fread(p, 1, (size_t)len, f) != (size_t)len) {
		free(p);
		p = NULL;
	}
	*n = p != NULL ? (size_t)len : 0;
	fclose(f);
	return p;
}

int
main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		size_t n;
		unsigned char *p = replay_read(argv[i], &n);

		if (p == NULL) {
			perror(argv[i]);
			return 2;
		}
		LLVMFuzzerTestOneInput(p, n);
		free(p);
	}
	return 0;
}
