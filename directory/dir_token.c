/*
 * dir_token: SSO sessions, authorization codes, refresh tokens and token
 * revocations.
 *
 * Everything single-use is made single-use by one conditional UPDATE
 * ("... AND used_at IS NULL"), so that two requests racing with the same
 * code or refresh token, on one node or several sharing the store, cannot
 * both win.
 */
#include "dir_internal.h"

#include <stdio.h>
#include <string.h>

#define SESSION_COLS                                                                               \
	"id_hash, tenant_id, user_id, auth_time, amr, mfa_time, created_at, last_seen_at, "        \
	"expires_at, ip, user_agent"

static const char sql_session_insert[] =
	"INSERT INTO sessions (" SESSION_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, "
	"?10)";
static const char sql_session_get[] =
	"SELECT " SESSION_COLS " FROM sessions WHERE tenant_id = ?1 AND id_hash = ?2";
static const char sql_session_touch[] =
	"UPDATE sessions SET last_seen_at = ?3 WHERE tenant_id = ?1 AND id_hash = ?2";
static const char sql_session_auth[] =
	"UPDATE sessions SET amr = ?3, auth_time = CASE WHEN ?4 > 0 THEN ?4 ELSE auth_time END, "
	"mfa_time = CASE WHEN ?5 > 0 THEN ?5 ELSE mfa_time END, last_seen_at = ?6 "
	"WHERE tenant_id = ?1 AND id_hash = ?2";
static const char sql_session_delete[] =
	"DELETE FROM sessions WHERE tenant_id = ?1 AND id_hash = ?2";
static const char sql_session_delete_user[] =
	"DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2";
static const char sql_session_list_user[] = "SELECT " SESSION_COLS " FROM sessions WHERE "
					    "tenant_id = ?1 AND user_id = ?2 ORDER BY "
					    "created_at DESC";

#define CODE_COLS                                                                                  \
	"code_hash, app_id, user_id, session_hash, redirect_uri, scope, nonce, code_challenge, "   \
	"auth_time, amr, family_id, created_at, expires_at, used_at, resource"

static const char sql_code_insert[] =
	"INSERT INTO auth_codes (tenant_id, " CODE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	"?9, ?10, ?11, ?12, ?13, ?14, NULL, ?15)";
static const char sql_code_use[] = "UPDATE auth_codes SET used_at = ?3 WHERE tenant_id = ?1 AND "
				   "code_hash = ?2 AND used_at IS NULL";
static const char sql_code_get[] =
	"SELECT " CODE_COLS " FROM auth_codes WHERE tenant_id = ?1 AND code_hash = ?2";

#define REFRESH_COLS                                                                               \
	"token_hash, family_id, app_id, user_id, scope, auth_time, amr, created_at, expires_at, "  \
	"rotated_at, revoked_at, resource"

static const char sql_refresh_insert[] =
	"INSERT INTO refresh_tokens (tenant_id, " REFRESH_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	"?7, ?8, ?9, ?10, NULL, NULL, ?11)";
static const char sql_refresh_use[] =
	"UPDATE refresh_tokens SET rotated_at = ?3 WHERE tenant_id = ?1 AND token_hash = ?2 AND "
	"rotated_at IS NULL AND revoked_at IS NULL";
static const char sql_refresh_get[] =
	"SELECT " REFRESH_COLS " FROM refresh_tokens WHERE tenant_id = ?1 AND token_hash = ?2";
static const char sql_refresh_revoke[] =
	"UPDATE refresh_tokens SET revoked_at = ?3 WHERE tenant_id = ?1 AND family_id = ?2 AND "
	"revoked_at IS NULL";
static const char sql_revoke_insert[] =
	"INSERT INTO revoked_tokens (tenant_id, kind, value, expires_at) VALUES (?1, ?2, ?3, ?4) "
	"ON CONFLICT DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)";
static const char sql_revoked[] =
	"SELECT 1 FROM revoked_tokens WHERE tenant_id = ?1 AND ((kind = 'jti' AND value = ?2) OR "
	"(kind = 'grant' AND value = ?3))";
static const char *const sql_expire[] = {
	"DELETE FROM auth_codes WHERE expires_at < ?1 - 86400",
	"DELETE FROM refresh_tokens WHERE expires_at < ?1",
	"DELETE FROM sessions WHERE expires_at < ?1",
	"DELETE FROM revoked_tokens WHERE expires_at < ?1",
};

static void dir_session_row(sqlite3_stmt *st, struct dir_session *s)
{
	dir_col_text(st, 0, s->id_hash, sizeof(s->id_hash));
	dir_col_text(st, 1, s->tenant_id, sizeof(s->tenant_id));
	dir_col_text(st, 2, s->user_id, sizeof(s->user_id));
	s->auth_time = sqlite3_column_int64(st, 3);
	dir_col_text(st, 4, s->amr, sizeof(s->amr));
	s->mfa_time = sqlite3_column_int64(st, 5);
	s->created_at = sqlite3_column_int64(st, 6);
	s->last_seen_at = sqlite3_column_int64(st, 7);
	s->expires_at = sqlite3_column_int64(st, 8);
	dir_col_text(st, 9, s->ip, sizeof(s->ip));
	dir_col_text(st, 10, s->user_agent, sizeof(s->user_agent));
}

int dir_session_create(struct dir *d, const char *tenant_id, struct dir_session *s,
		       struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_check_text("user agent", s->user_agent, sizeof(s->user_agent), 0, err) ||
	    dir_check_text("ip", s->ip, sizeof(s->ip), 0, err))
		return err->code;
	if ((st = dir_stmt(d, sql_session_insert, err)) == NULL)
		return err->code;
	s->created_at = s->last_seen_at = dir_now(d);
	snprintf(s->tenant_id, sizeof(s->tenant_id), "%s", tenant_id);
	dir_bind_text(st, 1, s->id_hash);
	dir_bind_text(st, 2, tenant_id);
	dir_bind_text(st, 3, s->user_id);
	sqlite3_bind_int64(st, 4, s->auth_time);
	dir_bind_text(st, 5, s->amr);
	sqlite3_bind_int64(st, 6, s->mfa_time);
	sqlite3_bind_int64(st, 7, s->created_at);
	sqlite3_bind_int64(st, 8, s->expires_at);
	dir_bind_text(st, 9, s->ip);
	dir_bind_text(st, 10, s->user_agent);
	rc = dir_step_change(d, st, "create session", err);
	dir_stmt_done(st);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	return rc < 0 ? rc : 0;
}

int dir_session_get(struct dir *d, const char *tenant_id, const char *id_hash,
		    struct dir_session *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_session_get, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id_hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_session_row(st, out);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? err_set(err, ERR_NOT_FOUND, "no such session")
				       : dir_fail(d, err, "read session");
	}
	dir_stmt_done(st);
	return rc;
}

/* Run sql binding (tenant, key, int64 value); the number of rows changed. */
static int dir_token_run(struct dir *d, const char *sql, const char *tenant_id, const char *key,
			 int64_t value, const char *what, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, key);
	sqlite3_bind_int64(st, 3, value);
	rc = dir_step_change(d, st, what, err);
	dir_stmt_done(st);
	return rc;
}

int dir_session_touch(struct dir *d, const char *tenant_id, const char *id_hash,
		      struct err *err)
{
	int rc = dir_token_run(d, sql_session_touch, tenant_id, id_hash, dir_now(d),
			       "touch session", err);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such session");
	return rc < 0 ? rc : 0;
}

int dir_session_update_auth(struct dir *d, const char *tenant_id, const char *id_hash,
			    const char *amr, int64_t auth_time, int64_t mfa_time, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_session_auth, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id_hash);
	dir_bind_text(st, 3, amr);
	sqlite3_bind_int64(st, 4, auth_time);
	sqlite3_bind_int64(st, 5, mfa_time);
	sqlite3_bind_int64(st, 6, dir_now(d));
	rc = dir_step_change(d, st, "update session", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such session");
	return rc < 0 ? rc : 0;
}

int dir_session_delete(struct dir *d, const char *tenant_id, const char *id_hash,
		       struct err *err)
{
	int rc = dir_token_run(d, sql_session_delete, tenant_id, id_hash, 0, "end session", err);
	return rc < 0 ? rc : 0;
}

int dir_session_delete_user(struct dir *d, const char *tenant_id, const char *user_id,
			    struct err *err)
{
	int rc = dir_token_run(d, sql_session_delete_user, tenant_id, user_id, 0, "end sessions",
			       err);
	return rc < 0 ? rc : 0;
}

int dir_session_list_user(struct dir *d, const char *tenant_id, const char *user_id,
			  int (*cb)(void *ctx, const struct dir_session *s), void *ctx,
			  struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_session_list_user, err);
	struct dir_session s;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_session_row(st, &s);
		stop = cb(ctx, &s);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list sessions");
	dir_stmt_done(st);
	return stop;
}

int dir_code_create(struct dir *d, const char *tenant_id, const struct dir_code *c,
		    struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_check_text("nonce", c->nonce, sizeof(c->nonce), 0, err) ||
	    dir_check_text("scope", c->scope, sizeof(c->scope), 0, err))
		return err->code;
	if ((st = dir_stmt(d, sql_code_insert, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, c->code_hash);
	dir_bind_text(st, 3, c->app_id);
	dir_bind_text(st, 4, c->user_id);
	dir_bind_text_or_null(st, 5, c->session_hash);
	dir_bind_text(st, 6, c->redirect_uri);
	dir_bind_text(st, 7, c->scope);
	dir_bind_text_or_null(st, 8, c->nonce);
	dir_bind_text(st, 9, c->code_challenge);
	sqlite3_bind_int64(st, 10, c->auth_time);
	dir_bind_text(st, 11, c->amr);
	dir_bind_text(st, 12, c->grant_id);
	sqlite3_bind_int64(st, 13, c->created_at ? c->created_at : dir_now(d));
	sqlite3_bind_int64(st, 14, c->expires_at);
	dir_bind_text_or_null(st, 15, c->resource);
	rc = dir_step_change(d, st, "store code", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}

static int dir_code_read(struct dir *d, const char *tenant_id, const char *code_hash,
			 struct dir_code *c, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_code_get, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, code_hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_col_text(st, 0, c->code_hash, sizeof(c->code_hash));
		dir_col_text(st, 1, c->app_id, sizeof(c->app_id));
		dir_col_text(st, 2, c->user_id, sizeof(c->user_id));
		dir_col_text(st, 3, c->session_hash, sizeof(c->session_hash));
		dir_col_text(st, 4, c->redirect_uri, sizeof(c->redirect_uri));
		dir_col_text(st, 5, c->scope, sizeof(c->scope));
		dir_col_text(st, 6, c->nonce, sizeof(c->nonce));
		dir_col_text(st, 7, c->code_challenge, sizeof(c->code_challenge));
		c->auth_time = sqlite3_column_int64(st, 8);
		dir_col_text(st, 9, c->amr, sizeof(c->amr));
		dir_col_text(st, 10, c->grant_id, sizeof(c->grant_id));
		c->created_at = sqlite3_column_int64(st, 11);
		c->expires_at = sqlite3_column_int64(st, 12);
		c->used_at = sqlite3_column_int64(st, 13);
		dir_col_text(st, 14, c->resource, sizeof(c->resource));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? err_set(err, ERR_NOT_FOUND, "no such code")
				       : dir_fail(d, err, "read code");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_code_redeem(struct dir *d, const char *tenant_id, const char *code_hash,
		    struct dir_code *out, struct err *err)
{
	int tx = dir_tx_begin(d, err), rc, changed;

	if (tx < 0)
		return tx;
	changed = dir_token_run(d, sql_code_use, tenant_id, code_hash, dir_now(d), "redeem code",
				err);
	rc = changed < 0 ? changed : dir_code_read(d, tenant_id, code_hash, out, err);
	if (dir_tx_end(d, tx, rc == 0, err) != 0)
		return err->code;
	if (rc != 0)
		return rc;
	return changed == 1 ? 0 : err_set(err, ERR_DENIED, "code already used");
}

static int dir_refresh_read(struct dir *d, const char *tenant_id, const char *token_hash,
			    struct dir_refresh *r, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_refresh_get, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, token_hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_col_text(st, 0, r->token_hash, sizeof(r->token_hash));
		dir_col_text(st, 1, r->grant_id, sizeof(r->grant_id));
		dir_col_text(st, 2, r->app_id, sizeof(r->app_id));
		dir_col_text(st, 3, r->user_id, sizeof(r->user_id));
		dir_col_text(st, 4, r->scope, sizeof(r->scope));
		r->auth_time = sqlite3_column_int64(st, 5);
		dir_col_text(st, 6, r->amr, sizeof(r->amr));
		r->created_at = sqlite3_column_int64(st, 7);
		r->expires_at = sqlite3_column_int64(st, 8);
		r->rotated_at = sqlite3_column_int64(st, 9);
		r->revoked_at = sqlite3_column_int64(st, 10);
		dir_col_text(st, 11, r->resource, sizeof(r->resource));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? err_set(err, ERR_NOT_FOUND, "no such refresh token")
				       : dir_fail(d, err, "read refresh token");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_refresh_create(struct dir *d, const char *tenant_id, const struct dir_refresh *r,
		       struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_refresh_insert, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, r->token_hash);
	dir_bind_text(st, 3, r->grant_id);
	dir_bind_text(st, 4, r->app_id);
	dir_bind_text(st, 5, r->user_id);
	dir_bind_text(st, 6, r->scope);
	sqlite3_bind_int64(st, 7, r->auth_time);
	dir_bind_text(st, 8, r->amr);
	sqlite3_bind_int64(st, 9, r->created_at ? r->created_at : dir_now(d));
	sqlite3_bind_int64(st, 10, r->expires_at);
	dir_bind_text_or_null(st, 11, r->resource);
	rc = dir_step_change(d, st, "store refresh token", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}

int dir_refresh_use(struct dir *d, const char *tenant_id, const char *token_hash,
		    struct dir_refresh *out, struct err *err)
{
	int tx = dir_tx_begin(d, err), rc, changed;

	if (tx < 0)
		return tx;
	changed = dir_token_run(d, sql_refresh_use, tenant_id, token_hash, dir_now(d),
				"use refresh token", err);
	rc = changed < 0 ? changed : dir_refresh_read(d, tenant_id, token_hash, out, err);
	if (dir_tx_end(d, tx, rc == 0, err) != 0)
		return err->code;
	if (rc != 0)
		return rc;
	return changed == 1 ? 0 : err_set(err, ERR_DENIED, "refresh token already used");
}

int dir_refresh_get(struct dir *d, const char *tenant_id, const char *token_hash,
		    struct dir_refresh *out, struct err *err)
{
	return dir_refresh_read(d, tenant_id, token_hash, out, err);
}

static int dir_revoke_record(struct dir *d, const char *tenant_id, const char *kind,
			     const char *value, int64_t expires_at, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_revoke_insert, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, kind);
	dir_bind_text(st, 3, value);
	sqlite3_bind_int64(st, 4, expires_at);
	rc = dir_step_change(d, st, "record revocation", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}

int dir_grant_revoke(struct dir *d, const char *tenant_id, const char *grant_id,
		     int64_t expires_at, struct err *err)
{
	int tx = dir_tx_begin(d, err), rc;

	if (tx < 0)
		return tx;
	rc = dir_token_run(d, sql_refresh_revoke, tenant_id, grant_id, dir_now(d),
			   "revoke refresh tokens", err);
	if (rc >= 0)
		rc = dir_revoke_record(d, tenant_id, "grant", grant_id, expires_at, err);
	if (dir_tx_end(d, tx, rc >= 0, err) != 0)
		return err->code;
	return rc < 0 ? rc : 0;
}

int dir_jti_revoke(struct dir *d, const char *tenant_id, const char *jti, int64_t expires_at,
		   struct err *err)
{
	return dir_revoke_record(d, tenant_id, "jti", jti, expires_at, err);
}

int dir_token_revoked(struct dir *d, const char *tenant_id, const char *jti,
		      const char *grant_id, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_revoked, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, jti != NULL ? jti : "");
	dir_bind_text(st, 3, grant_id != NULL ? grant_id : "");
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : dir_fail(d, err, "read revocations");
	dir_stmt_done(st);
	return rc;
}

int dir_tokens_expire(struct dir *d, int64_t now, struct err *err)
{
	for (size_t i = 0; i < sizeof(sql_expire) / sizeof(sql_expire[0]); i++) {
		sqlite3_stmt *st = dir_stmt(d, sql_expire[i], err);
		int rc;
		if (st == NULL)
			return err->code;
		sqlite3_bind_int64(st, 1, now);
		rc = dir_step_change(d, st, "expire tokens", err);
		dir_stmt_done(st);
		if (rc < 0)
			return rc;
	}
	return 0;
}
