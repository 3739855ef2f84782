/*
 * token_bench: offline validations per second through idp-verify's library
 * (verify.h), as an application runs them: the JWKS parsed once, then for
 * each token the kid picks the key, the algorithm is checked against the
 * key and the allow-list, the signature verified, and iss, aud, exp, nbf,
 * iat and typ checked.  One thread: the figure is per core.
 *
 *   token_bench --jwks FILE --iss ISSUER [--aud AUDIENCE] [--seconds S]
 *               TOKEN_FILE...
 *
 * Each token file holds one token as the idp issued it (bench/token/run.sh
 * fetches the tenant's JWKS and an RS256 and an ES256 token over HTTP).
 * Every token must validate before it is timed.  Prints one line per token:
 *
 *   validate ALG RATE_PER_WALL_SECOND RATE_PER_CPU_SECOND COUNT
 *
 * The CPU-time rate is what the thread got of the core; on a shared machine
 * it is the steadier of the two.  It measures; it never passes or fails.
 */
#define _GNU_SOURCE
#include "verify.h"

#include "b64.h"
#include "err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double bench_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file, NUL-terminated, without trailing whitespace; caller frees. */
static char *bench_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL) {
		perror(path);
		return NULL;
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap * 2 + 8192);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, 4096, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

/* The token header's "alg", for the report (the library checks it for real). */
static void bench_alg(const char *token, char *out, size_t cap)
{
	const char *dot = strchr(token, '.');
	char hdr[512];
	ssize_t n =
	        dot != NULL ? b64url_decode(token, (size_t)(dot - token), hdr, sizeof(hdr)) : -1;
	json_t *h = n > 0 ? json_loadb(hdr, (size_t)n, 0, NULL) : NULL;

	snprintf(out, cap, "%s",
	         json_is_string(json_object_get(h, "alg"))
	                 ? json_string_value(json_object_get(h, "alg"))
	                 : "?");
	json_decref(h);
}

static int bench_usage(void)
{
	fprintf(stderr, "usage: token_bench --jwks FILE --iss ISSUER [--aud AUDIENCE] "
	                "[--seconds S] TOKEN_FILE...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *jwks_path = NULL;
	struct verify_opts o;
	struct verify_jwks *ks = NULL;
	struct err err = {0};
	double seconds = 3;
	char *jwks = NULL;
	size_t jwks_len = 0;
	int i, rc = 1;

	memset(&o, 0, sizeof(o));
	o.typ = "at+jwt";
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (i + 1 >= argc)
			return bench_usage();
		if (strcmp(argv[i], "--jwks") == 0)
			jwks_path = argv[++i];
		else if (strcmp(argv[i], "--iss") == 0)
			o.iss = argv[++i];
		else if (strcmp(argv[i], "--aud") == 0)
			o.aud = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = strtod(argv[++i], NULL);
		else
			return bench_usage();
	}
	if (jwks_path == NULL || o.iss == NULL || i >= argc || !(seconds > 0 && seconds < 3600))
		return bench_usage();
	if ((jwks = bench_slurp(jwks_path, &jwks_len)) == NULL)
		goto out;
	if ((ks = verify_jwks_parse(jwks, jwks_len, &err)) == NULL) {
		fprintf(stderr, "token_bench: %s: %s\n", jwks_path, err.msg);
		goto out;
	}
	for (; i < argc; i++) {
		char *token = bench_slurp(argv[i], NULL), alg[16];
		double w0, c0, w1, c1;
		long count = 0;

		if (token == NULL)
			goto out;
		bench_alg(token, alg, sizeof(alg));
		/* a token that does not validate would time the failure path */
		if (verify_token(ks, token, &o, NULL, &err) != 0) {
			fprintf(stderr, "token_bench: %s does not validate: %s\n", argv[i],
			        err.msg);
			free(token);
			goto out;
		}
		w0 = bench_clock(CLOCK_MONOTONIC);
		c0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
		do {
			for (int k = 0; k < 64; k++) {
				if (verify_token(ks, token, &o, NULL, &err) != 0) {
					fprintf(stderr, "token_bench: %s: %s\n", argv[i], err.msg);
					free(token);
					goto out;
				}
			}
			count += 64;
			w1 = bench_clock(CLOCK_MONOTONIC);
		} while (w1 - w0 < seconds);
		c1 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
		printf("validate %s %.0f %.0f %ld\n", alg, (double)count / (w1 - w0),
		       (double)count / (c1 - c0), count);
		free(token);
	}
	rc = 0;
out:
	verify_jwks_free(ks);
	free(jwks);
	return rc;
}
