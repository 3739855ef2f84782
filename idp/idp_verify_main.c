/*
 * idp-verify: check a token offline against a JWKS file.
 *
 *     idp-verify --jwks FILE --iss ISSUER [--aud AUDIENCE | --no-aud]
 *                [--typ at+jwt] [--alg RS256,ES256] [--leeway SECONDS] [TOKEN]
 *
 * The token comes from the argument or, when absent, standard input.
 * Prints the claims and exits 0 when valid; prints why and exits 1 when
 * not; 2 for usage errors.
 */
#include "jws.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(FILE *f, size_t max)
{
	char *buf = malloc(max + 1);
	size_t n;

	if (buf == NULL)
		return NULL;
	n = fread(buf, 1, max, f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

static int usage(void)
{
	fprintf(stderr, "usage: idp-verify --jwks FILE --iss ISSUER (--aud AUDIENCE | --no-aud)\n"
			"                  [--typ TYPE] [--alg RS256,ES256] [--leeway SECONDS] "
			"[TOKEN]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *jwks_path = NULL, *token_arg = NULL;
	struct verify_opts o = {0};
	struct verify_jwks *ks;
	struct err err = {0};
	char *jwks, *token;
	json_t *claims = NULL;
	int no_aud = 0, rc;
	FILE *f;

	o.leeway = 60;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--jwks") == 0 && v)
			jwks_path = argv[++i];
		else if (strcmp(a, "--iss") == 0 && v)
			o.iss = argv[++i];
		else if (strcmp(a, "--aud") == 0 && v)
			o.aud = argv[++i];
		else if (strcmp(a, "--no-aud") == 0)
			no_aud = 1;
		else if (strcmp(a, "--typ") == 0 && v)
			o.typ = argv[++i];
		else if (strcmp(a, "--leeway") == 0 && v)
			o.leeway = atoll(argv[++i]);
		else if (strcmp(a, "--alg") == 0 && v) {
			const char *s = argv[++i];
			o.algs = 0;
			if (strstr(s, "RS256") != NULL)
				o.algs |= 1u << JWS_RS256;
			if (strstr(s, "ES256") != NULL)
				o.algs |= 1u << JWS_ES256;
			if (o.algs == 0) {
				fprintf(stderr, "idp-verify: --alg accepts RS256 and ES256\n");
				return 2;
			}
		} else if (a[0] != '-' && token_arg == NULL)
			token_arg = a;
		else
			return usage();
	}
	if (jwks_path == NULL || o.iss == NULL || (o.aud == NULL && !no_aud))
		return usage();
	if ((f = fopen(jwks_path, "re")) == NULL) {
		perror(jwks_path);
		return 1;
	}
	jwks = read_all(f, 1 << 20);
	fclose(f);
	token = token_arg != NULL ? strdup(token_arg) : read_all(stdin, JWS_MAX_TOKEN + 1);
	if (jwks == NULL || token == NULL)
		return 1;
	ks = verify_jwks_parse(jwks, strlen(jwks), &err);
	free(jwks);
	if (ks == NULL) {
		fprintf(stderr, "idp-verify: %s: %s\n", jwks_path, err.msg);
		free(token);
		return 1;
	}
	rc = verify_token(ks, token, &o, &claims, &err);
	free(token);
	verify_jwks_free(ks);
	if (rc != 0) {
		printf("invalid: %s\n", err.msg);
		return 1;
	}
	json_dumpf(claims, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(claims);
	return 0;
}
