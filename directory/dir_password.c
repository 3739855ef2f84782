/*
 * dir_password: argon2id hashes of cloud users' passwords.
 *
 * Hashes are kept in the PHC string format ("$argon2id$v=19$m=...,t=...,
 * p=...$salt$hash"), which carries its own parameters: raising them in the
 * config rehashes each password at its owner's next successful sign-in.
 */
#include "dir_internal.h"

#include "rand.h"
#include "secret.h"

#include <argon2.h>
#include <stdio.h>
#include <string.h>

#define DIR_SALT_LEN 16
#define DIR_HASH_LEN 32

int dir_password_hash(const struct dir_argon2 *p, const char *password, char *out, size_t cap,
		      struct err *err)
{
	unsigned char salt[DIR_SALT_LEN];
	size_t len = strlen(password);
	int rc;

	if (len == 0)
		return err_set(err, ERR_INVALID, "password is empty");
	if (len > DIR_PASSWORD_MAX)
		return err_set(err, ERR_INVALID, "password is longer than %d bytes",
			       DIR_PASSWORD_MAX);
	if (rand_bytes(salt, sizeof(salt)) != 0)
		return err_set(err, ERR_INTERNAL, "the kernel's random source failed");
	rc = argon2id_hash_encoded(p->t_cost, p->m_cost_kib, p->lanes, password, len, salt,
				   sizeof(salt), DIR_HASH_LEN, out, cap);
	if (rc != ARGON2_OK)
		return err_set(err, ERR_INTERNAL, "argon2id: %s", argon2_error_message(rc));
	return 0;
}

int dir_password_verify(const char *encoded, const char *password)
{
	size_t len = strlen(password);

	if (len == 0 || len > DIR_PASSWORD_MAX)
		return 0;
	/* argon2id_verify compares the digests in constant time. */
	return argon2id_verify(encoded, password, len) == ARGON2_OK;
}

int dir_password_needs_rehash(const char *encoded, const struct dir_argon2 *p)
{
	unsigned m = 0, t = 0, lanes = 0, v = 0;

	if (sscanf(encoded, "$argon2id$v=%u$m=%u,t=%u,p=%u$", &v, &m, &t, &lanes) != 4)
		return 1;
	return v != ARGON2_VERSION_NUMBER || m != p->m_cost_kib || t != p->t_cost ||
	       lanes != p->lanes;
}

void dir_password_burn(struct dir *d, const char *password)
{
	static const unsigned char salt[DIR_SALT_LEN] = "burn-burn-burn!";
	unsigned char out[DIR_HASH_LEN];
	size_t len = strnlen(password, DIR_PASSWORD_MAX + 1);

	if (len == 0 || len > DIR_PASSWORD_MAX)
		return;
	argon2id_hash_raw(d->argon2.t_cost, d->argon2.m_cost_kib, d->argon2.lanes, password, len,
			  salt, sizeof(salt), out, sizeof(out));
	secret_wipe(out, sizeof(out));
}
