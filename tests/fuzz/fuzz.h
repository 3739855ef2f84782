/*
 * fuzz: what the libFuzzer harnesses share.
 *
 * Every harness is one file fuzz_NAME.c defining LLVMFuzzerTestOneInput
 * (and, when it needs a world, LLVMFuzzerInitialize).  Under -Dfuzz=true
 * they link with clang's libFuzzer; in the ordinary builds they link with
 * fuzz_replay.c, a main() that runs the committed corpus and regression
 * inputs once each, so every crash ever found stays a test under gcc,
 * ASan and UBSan too.
 *
 * Inputs are split with fuzz_next(): a harness that needs several strings
 * reads them separated by a byte that seeds and dictionaries use, so the
 * committed seeds stay readable text.
 */
#ifndef IDP_FUZZ_H
#define IDP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A cursor over the input. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/*
 * The next piece up to (not including) sep, as a NUL-terminated heap copy
 * (caller frees); the rest of the input when sep does not occur.  *len gets
 * the piece's length (it may hold NULs: the copy is what a C caller would
 * see).  Never NULL: aborts when memory runs out, as libFuzzer would.
 */
static inline char *fuzz_next(struct fuzz_in *in, char sep, size_t *len)
{
	const uint8_t *end = in->n > 0 ? memchr(in->p, sep, in->n) : NULL;
	size_t n = end != NULL ? (size_t)(end - in->p) : in->n;
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	if (n > 0)
		memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	in->n -= n;
	if (end != NULL) {
		in->p++;
		in->n--;
	}
	if (len != NULL)
		*len = n;
	return s;
}

/* One byte of the input (0 when it is used up). */
static inline uint8_t fuzz_byte(struct fuzz_in *in)
{
	uint8_t b = 0;

	if (in->n > 0) {
		b = in->p[0];
		in->p++;
		in->n--;
	}
	return b;
}

/*
 * A failed property: say which and abort, so that libFuzzer (or the
 * replay driver, or the sanitizers) records the input as a crash.
 */
#define FUZZ_ASSERT(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz property failed at %s:%d: %s: ", __FILE__, __LINE__, \
			        #cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
