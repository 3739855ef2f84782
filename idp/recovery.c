/*
 * recovery: generating, hashing and using recovery codes (see recovery.h).
 */
#include "recovery.h"

#include "err.h"
#include "rand.h"
#include "secret.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Crockford's base32, lower case: no i, l, o or u to misread. */
static const char recovery_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

int recovery_generate(const char *tenant_id, const char *user_id, int n,
                      char (*codes)[RECOVERY_CODE_MAX], char (*hashes)[DIR_HASH_MAX],
                      struct err *err)
{
	uint8_t r[RECOVERY_CHARS];
	char plain[RECOVERY_CHARS + 1];

	if (n < 1 || n > DIR_RECOVERY_MAX)
		return err_set(err, ERR_INVALID, "1..%d recovery codes", DIR_RECOVERY_MAX);
	for (int i = 0; i < n; i++) {
		size_t j = 0;

		if (rand_bytes(r, sizeof(r)) != 0)
			return err_set(err, ERR_INTERNAL, "the kernel's random source failed");
		for (int c = 0; c < RECOVERY_CHARS; c++) {
			plain[c] = recovery_alphabet[r[c] & 31]; /* 256 is a multiple of 32 */
			if (c > 0 && c % 4 == 0)
				codes[i][j++] = '-';
			codes[i][j++] = plain[c];
		}
		codes[i][j] = '\0';
		plain[RECOVERY_CHARS] = '\0';
		recovery_hash(tenant_id, user_id, plain, hashes[i]);
	}
	secret_wipe(r, sizeof(r));
	secret_wipe(plain, sizeof(plain));
	return 0;
}

int recovery_normalize(const char *typed, char out[RECOVERY_CHARS + 1])
{
	size_t n = 0;

	if (typed == NULL || strnlen(typed, 64) == 64)
		return ERR_INVALID;
	for (const char *p = typed; *p != '\0'; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (c == ' ' || c == '-' || c == '\t')
			continue;
		if (c == 'i' || c == 'l')
			c = '1';
		else if (c == 'o')
			c = '0';
		if (strchr(recovery_alphabet, c) == NULL || c == '\0' || n == RECOVERY_CHARS) {
			secret_wipe(out, RECOVERY_CHARS + 1);
			return ERR_INVALID;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return n == RECOVERY_CHARS ? 0 : ERR_INVALID;
}

void recovery_hash(const char *tenant_id, const char *user_id, const char *normalized,
                   char out[DIR_HASH_MAX])
{
	static const char hex[] = "0123456789abcdef";
	char buf[64 + 2 * DIR_ID_MAX + RECOVERY_CHARS + 8];
	uint8_t dg[SECRET_SHA256_LEN];
	int n;

	/* NUL separators: no two (tenant, user, code) triples share an input. */
	n = snprintf(buf, sizeof(buf), "idp-recovery-v1%c%.36s%c%.36s%c%.16s", 0, tenant_id, 0,
	             user_id, 0, normalized);
	secret_sha256(buf, (size_t)n, dg);
	for (size_t i = 0; i < sizeof(dg); i++) {
		out[2 * i] = hex[dg[i] >> 4];
		out[2 * i + 1] = hex[dg[i] & 15];
	}
	out[2 * SECRET_SHA256_LEN] = '\0';
	secret_wipe(buf, sizeof(buf));
}

int recovery_use(struct dir *d, const char *tenant_id, const char *user_id, const char *typed,
                 int64_t now, int *remaining, struct err *err)
{
	char norm[RECOVERY_CHARS + 1], digest[DIR_HASH_MAX];
	char hashes[DIR_RECOVERY_MAX][DIR_HASH_MAX];
	int n = 0, match = -1, rc;

	if (remaining != NULL)
		*remaining = 0;
	if (recovery_normalize(typed, norm) != 0) {
		/* Still read the store, so a malformed code costs what a wrong one does. */
		memset(norm, 'x', RECOVERY_CHARS);
		norm[RECOVERY_CHARS] = '\0';
	}
	recovery_hash(tenant_id, user_id, norm, digest);
	rc = dir_recovery_unused(d, tenant_id, user_id, hashes, DIR_RECOVERY_MAX, &n, err);
	if (rc != 0)
		goto out;
	/* Every digest compared, none skipped: the time says nothing about which. */
	for (int i = 0; i < n; i++)
		if (secret_streq(hashes[i], digest) & (match < 0))
			match = i;
	if (match < 0) {
		if (remaining != NULL)
			*remaining = n;
		rc = err_set(err, ERR_DENIED, "not an unused recovery code of this user");
		goto out;
	}
	rc = dir_recovery_consume(d, tenant_id, user_id, hashes[match], now, err);
	if (remaining != NULL)
		*remaining = rc == 0 ? n - 1 : n;
out:
	secret_wipe(norm, sizeof(norm));
	secret_wipe(digest, sizeof(digest));
	return rc;
}
