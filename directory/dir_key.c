/*
 * dir_key: a tenant's token-signing keys.
 *
 * The private half arrives sealed by the idp (see idp/secretbox.h) and is
 * stored as given; the public half is stored as the JWK the JWKS endpoint
 * serves.  A retired key no longer signs but stays published until
 * expires_at, when every token it signed has expired.
 */
#include "dir_internal.h"

#include <stdlib.h>
#include <string.h>

static const char sql_key_insert[] =
	"INSERT INTO signing_keys (tenant_id, kid, alg, private_enc, public_jwk, created_at, "
	"retired_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)";
static const char sql_key_list[] =
	"SELECT kid, alg, private_enc, public_jwk, created_at, retired_at, expires_at FROM "
	"signing_keys WHERE tenant_id = ?1 ORDER BY created_at DESC, kid";
static const char sql_key_retire[] =
	"UPDATE signing_keys SET retired_at = ?2, expires_at = ?3 WHERE tenant_id = ?1 AND "
	"retired_at IS NULL";
static const char sql_key_expire[] = "DELETE FROM signing_keys WHERE tenant_id = ?1 AND "
				     "expires_at IS NOT NULL AND expires_at <= ?2";

int dir_key_add(struct dir *d, const char *tenant_id, const struct dir_signing_key *k,
		struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (strnlen(k->private_enc, sizeof(k->private_enc)) >= sizeof(k->private_enc) ||
	    strnlen(k->public_jwk, sizeof(k->public_jwk)) >= sizeof(k->public_jwk) ||
	    k->kid[0] == '\0')
		return err_set(err, ERR_INVALID, "signing key fields missing or too long");
	if ((st = dir_stmt(d, sql_key_insert, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, k->kid);
	dir_bind_text(st, 3, k->alg);
	dir_bind_text(st, 4, k->private_enc);
	dir_bind_text(st, 5, k->public_jwk);
	sqlite3_bind_int64(st, 6, k->created_at ? k->created_at : dir_now(d));
	rc = dir_step_change(d, st, "add signing key", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}

int dir_key_list(struct dir *d, const char *tenant_id,
		 int (*cb)(void *ctx, const struct dir_signing_key *k), void *ctx,
		 struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_key_list, err);
	struct dir_signing_key *k;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	if ((k = malloc(sizeof(*k))) == NULL) {
		dir_stmt_done(st);
		return err_set(err, ERR_INTERNAL, "out of memory");
	}
	dir_bind_text(st, 1, tenant_id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_col_text(st, 0, k->kid, sizeof(k->kid));
		dir_col_text(st, 1, k->alg, sizeof(k->alg));
		dir_col_text(st, 2, k->private_enc, sizeof(k->private_enc));
		dir_col_text(st, 3, k->public_jwk, sizeof(k->public_jwk));
		k->created_at = sqlite3_column_int64(st, 4);
		k->retired_at = sqlite3_column_int64(st, 5);
		k->expires_at = sqlite3_column_int64(st, 6);
		stop = cb(ctx, k);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list signing keys");
	dir_stmt_done(st);
	memset(k, 0, sizeof(*k));
	free(k);
	return stop;
}

int dir_key_retire_all(struct dir *d, const char *tenant_id, int64_t expires_at,
		       struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_key_retire, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, dir_now(d));
	sqlite3_bind_int64(st, 3, expires_at);
	rc = dir_step_change(d, st, "retire signing keys", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}

int dir_key_delete_expired(struct dir *d, const char *tenant_id, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_key_expire, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, dir_now(d));
	rc = dir_step_change(d, st, "delete expired keys", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}
