/*
 * dir_user: users of a tenant, cloud-only or synced from LDAP.
 *
 * Every statement here carries "tenant_id = ?1": that, and not the caller's
 * good manners, is what keeps a user id of one tenant from reaching another.
 */
#include "dir_internal.h"

#include "secret.h"

#include <argon2.h>
#include <stdio.h>
#include <string.h>

#define USER_COLS                                                                                  \
	"id, tenant_id, upn, display_name, given_name, surname, mail, enabled, mfa_required, "     \
	"source, source_anchor, source_dn, password_hash IS NOT NULL, created_at, updated_at, "   \
	"deleted_at"

static const char sql_user_insert[] =
	"INSERT INTO users (tenant_id, id, upn, upn_key, display_name, given_name, surname, mail, "
	"enabled, mfa_required, source, source_anchor, source_dn, password_hash, created_at, "
	"updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)";
static const char sql_user_by_id[] =
	"SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 AND id = ?2";
static const char sql_user_by_upn[] = "SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 AND "
				      "upn_key = ?2 AND deleted_at IS NULL";
static const char sql_user_by_anchor[] =
	"SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 AND source_anchor = ?2";
static const char sql_user_update[] =
	"UPDATE users SET upn = ?3, upn_key = ?4, display_name = ?5, given_name = ?6, "
	"surname = ?7, mail = ?8, enabled = ?9, mfa_required = ?10, source_dn = ?11, "
	"updated_at = ?12 WHERE tenant_id = ?1 AND id = ?2";
static const char sql_user_set_password[] =
	"UPDATE users SET password_hash = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2";
static const char sql_user_get_hash[] = "SELECT password_hash FROM users WHERE tenant_id = ?1 "
					"AND id = ?2 AND deleted_at IS NULL";
static const char sql_user_rehash[] =
	"UPDATE users SET password_hash = ?3 WHERE tenant_id = ?1 AND id = ?2 AND "
	"password_hash = ?4";
static const char sql_user_soft_delete[] =
	"UPDATE users SET deleted_at = ?3, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND "
	"deleted_at IS NULL";
static const char sql_user_restore[] =
	"UPDATE users SET deleted_at = NULL, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND "
	"deleted_at IS NOT NULL";
static const char sql_user_revoke_sessions[] =
	"DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2";
static const char sql_user_delete[] = "DELETE FROM users WHERE tenant_id = ?1 AND id = ?2";
static const char sql_user_delete_assignments[] =
	"DELETE FROM role_assignments WHERE tenant_id = ?1 AND principal_id = ?2";
static const char sql_user_delete_signins[] =
	"DELETE FROM signins WHERE tenant_id = ?1 AND (user_id = ?2 OR idp_fold(username) = ?3)";
static const char sql_user_list[] =
	"SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 AND upn_key > ?2 AND "
	"(?3 OR deleted_at IS NULL) AND (?4 < 0 OR source = ?5) AND (?7 IS NULL OR "
	"(upn_key >= ?7 AND upn_key < ?7 || char(1114111))) ORDER BY upn_key LIMIT ?6";

static const char *const dir_source_names[] = {"cloud", "ldap"};

static void dir_user_row(sqlite3_stmt *st, struct dir_user *u)
{
	const unsigned char *src;

	dir_col_text(st, 0, u->id, sizeof(u->id));
	dir_col_text(st, 1, u->tenant_id, sizeof(u->tenant_id));
	dir_col_text(st, 2, u->upn, sizeof(u->upn));
	dir_col_text(st, 3, u->display_name, sizeof(u->display_name));
	dir_col_text(st, 4, u->given_name, sizeof(u->given_name));
	dir_col_text(st, 5, u->surname, sizeof(u->surname));
	dir_col_text(st, 6, u->mail, sizeof(u->mail));
	u->enabled = sqlite3_column_int(st, 7);
	u->mfa_required = sqlite3_column_int(st, 8);
	src = sqlite3_column_text(st, 9);
	u->source = src != NULL && strcmp((const char *)src, "ldap") == 0 ? DIR_SOURCE_LDAP
									  : DIR_SOURCE_CLOUD;
	dir_col_text(st, 10, u->source_anchor, sizeof(u->source_anchor));
	dir_col_text(st, 11, u->source_dn, sizeof(u->source_dn));
	u->has_password = sqlite3_column_int(st, 12);
	u->created_at = sqlite3_column_int64(st, 13);
	u->updated_at = sqlite3_column_int64(st, 14);
	u->deleted_at = sqlite3_column_int64(st, 15);
}

/* A user principal name looks like an address: local@domain, no spaces. */
static int dir_check_upn(const char *upn, struct err *err)
{
	const char *at;

	if (dir_check_text("user principal name", upn, DIR_UPN_MAX, 1, err) != 0)
		return err->code;
	at = strchr(upn, '@');
	if (at == NULL || at == upn || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strpbrk(upn, " \t") != NULL)
		return err_set(err, ERR_INVALID,
			       "user principal name must look like name@domain, without spaces");
	return 0;
}

static int dir_user_check(const struct dir_user *u, struct err *err)
{
	if (dir_check_upn(u->upn, err) != 0 ||
	    dir_check_text("display name", u->display_name, sizeof(u->display_name), 0, err) ||
	    dir_check_text("given name", u->given_name, sizeof(u->given_name), 0, err) ||
	    dir_check_text("surname", u->surname, sizeof(u->surname), 0, err) ||
	    dir_check_text("mail", u->mail, sizeof(u->mail), 0, err) ||
	    dir_check_text("source DN", u->source_dn, sizeof(u->source_dn), 0, err))
		return err->code;
	if (u->mail[0] != '\0' && (strchr(u->mail, '@') == NULL || strpbrk(u->mail, " \t")))
		return err_set(err, ERR_INVALID, "mail must look like name@domain");
	return 0;
}

int dir_user_create(struct dir *d, const char *tenant_id, struct dir_user *u,
		    const char *password, struct err *err)
{
	char key[DIR_UPN_MAX * 2], hash[128] = "";
	sqlite3_stmt *st;
	int rc;

	if (dir_user_check(u, err) != 0)
		return err->code;
	if (u->source != DIR_SOURCE_CLOUD && u->source != DIR_SOURCE_LDAP)
		return err_set(err, ERR_INVALID, "unknown user source %d", (int)u->source);
	if (dir_check_text("source anchor", u->source_anchor, sizeof(u->source_anchor),
			   u->source == DIR_SOURCE_LDAP, err) != 0)
		return err->code;
	if (u->source == DIR_SOURCE_CLOUD && u->source_anchor[0] != '\0')
		return err_set(err, ERR_INVALID, "a cloud user has no source anchor");
	if (dir_fold_key("user principal name", u->upn, key, sizeof(key), err) != 0)
		return err->code;
	if (password != NULL && dir_password_hash(&d->argon2, password, hash, sizeof(hash), err))
		return err->code;
	if (dir_new_id(d, u->id, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_user_insert, err)) == NULL)
		return err->code;
	snprintf(u->tenant_id, sizeof(u->tenant_id), "%s", tenant_id);
	u->created_at = u->updated_at = dir_now(d);
	u->deleted_at = 0;
	u->has_password = password != NULL;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, u->id);
	dir_bind_text(st, 3, u->upn);
	dir_bind_text(st, 4, key);
	dir_bind_text(st, 5, u->display_name);
	dir_bind_text(st, 6, u->given_name);
	dir_bind_text(st, 7, u->surname);
	dir_bind_text(st, 8, u->mail);
	sqlite3_bind_int(st, 9, u->enabled != 0);
	sqlite3_bind_int(st, 10, u->mfa_required != 0);
	dir_bind_text(st, 11, dir_source_names[u->source]);
	dir_bind_text_or_null(st, 12, u->source_anchor);
	dir_bind_text_or_null(st, 13, u->source_dn);
	dir_bind_text_or_null(st, 14, hash);
	sqlite3_bind_int64(st, 15, u->created_at);
	rc = dir_step_change(d, st, "create user", err);
	dir_stmt_done(st);
	secret_wipe(hash, sizeof(hash));
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS,
			       "a user with principal name '%s' or this source anchor exists",
			       u->upn);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

static int dir_user_get_by(struct dir *d, const char *sql, const char *tenant_id,
			   const char *key, struct dir_user *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_user_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no such user");
	} else {
		rc = dir_fail(d, err, "read user");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_user_get(struct dir *d, const char *tenant_id, const char *id, struct dir_user *out,
		 struct err *err)
{
	return dir_user_get_by(d, sql_user_by_id, tenant_id, id, out, err);
}

int dir_user_get_by_upn(struct dir *d, const char *tenant_id, const char *upn,
			struct dir_user *out, struct err *err)
{
	char key[DIR_UPN_MAX * 2];

	if (dir_fold_key("user principal name", upn, key, sizeof(key), err) != 0)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	return dir_user_get_by(d, sql_user_by_upn, tenant_id, key, out, err);
}

int dir_user_get_by_anchor(struct dir *d, const char *tenant_id, const char *anchor,
			   struct dir_user *out, struct err *err)
{
	return dir_user_get_by(d, sql_user_by_anchor, tenant_id, anchor, out, err);
}

int dir_user_update(struct dir *d, const char *tenant_id, const struct dir_user *u,
		    struct err *err)
{
	char key[DIR_UPN_MAX * 2];
	sqlite3_stmt *st;
	int rc;

	if (dir_user_check(u, err) != 0)
		return err->code;
	if (dir_fold_key("user principal name", u->upn, key, sizeof(key), err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_user_update, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, u->id);
	dir_bind_text(st, 3, u->upn);
	dir_bind_text(st, 4, key);
	dir_bind_text(st, 5, u->display_name);
	dir_bind_text(st, 6, u->given_name);
	dir_bind_text(st, 7, u->surname);
	dir_bind_text(st, 8, u->mail);
	sqlite3_bind_int(st, 9, u->enabled != 0);
	sqlite3_bind_int(st, 10, u->mfa_required != 0);
	dir_bind_text_or_null(st, 11, u->source_dn);
	sqlite3_bind_int64(st, 12, dir_now(d));
	rc = dir_step_change(d, st, "update user", err);
	dir_stmt_done(st);
	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "a user with principal name '%s' exists", u->upn);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	return rc < 0 ? rc : 0;
}

int dir_user_set_password(struct dir *d, const char *tenant_id, const char *id,
			  const char *password, struct err *err)
{
	char hash[128] = "";
	sqlite3_stmt *st;
	int rc;

	if (password != NULL && dir_password_hash(&d->argon2, password, hash, sizeof(hash), err))
		return err->code;
	if ((st = dir_stmt(d, sql_user_set_password, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	dir_bind_text_or_null(st, 3, hash);
	sqlite3_bind_int64(st, 4, dir_now(d));
	rc = dir_step_change(d, st, "set password", err);
	dir_stmt_done(st);
	secret_wipe(hash, sizeof(hash));
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	return rc < 0 ? rc : 0;
}

/* Store a fresh hash made with the current parameters; failures are not the caller's. */
static void dir_user_rehash(struct dir *d, const char *tenant_id, const char *id,
			    const char *old, const char *password)
{
	char hash[128];
	struct err ignored;
	sqlite3_stmt *st;

	if (dir_password_hash(&d->argon2, password, hash, sizeof(hash), &ignored) != 0)
		return;
	if ((st = dir_stmt(d, sql_user_rehash, &ignored)) != NULL) {
		dir_bind_text(st, 1, tenant_id);
		dir_bind_text(st, 2, id);
		dir_bind_text(st, 3, hash);
		dir_bind_text(st, 4, old); /* only if nobody changed it meanwhile */
		(void)dir_step_change(d, st, "rehash", &ignored);
		dir_stmt_done(st);
	}
	secret_wipe(hash, sizeof(hash));
}

int dir_user_check_password(struct dir *d, const char *tenant_id, const char *id,
			    const char *password, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_user_get_hash, err);
	char hash[256] = "";
	int rc, found, has_hash = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	rc = sqlite3_step(st);
	found = rc == SQLITE_ROW;
	if (found && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		dir_col_text(st, 0, hash, sizeof(hash));
		has_hash = 1;
	}
	dir_stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dir_fail(d, err, "read user");
	if (!found)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	if (!has_hash || !dir_password_verify(hash, password)) {
		secret_wipe(hash, sizeof(hash));
		return err_set(err, ERR_DENIED, "wrong password");
	}
	if (dir_password_needs_rehash(hash, &d->argon2))
		dir_user_rehash(d, tenant_id, id, hash, password);
	secret_wipe(hash, sizeof(hash));
	return 0;
}

static int dir_user_simple(struct dir *d, const char *sql, const char *tenant_id, const char *id,
			   const char *what, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, id);
	sqlite3_bind_int64(st, 3, dir_now(d));
	rc = dir_step_change(d, st, what, err);
	dir_stmt_done(st);
	return rc;
}

int dir_user_soft_delete(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	int tx = dir_tx_begin(d, err), rc;

	if (tx < 0)
		return tx;
	rc = dir_user_simple(d, sql_user_soft_delete, tenant_id, id, "delete user", err);
	if (rc == 0)
		rc = err_set(err, ERR_NOT_FOUND, "no such live user");
	/* A deleted user's sign-in sessions end with it. */
	if (rc > 0)
		rc = dir_user_simple(d, sql_user_revoke_sessions, tenant_id, id, "end sessions",
				     err);
	dir_tx_end(d, tx, rc >= 0, err);
	return rc < 0 ? rc : 0;
}

int dir_user_restore(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	int rc = dir_user_simple(d, sql_user_restore, tenant_id, id, "restore user", err);

	if (rc == ERR_EXISTS)
		return err_set(err, ERR_EXISTS,
			       "another live user now has this user's principal name");
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such deleted user");
	return rc < 0 ? rc : 0;
}

int dir_user_purge(struct dir *d, const char *tenant_id, const char *id, struct err *err)
{
	struct dir_user u;
	char key[DIR_UPN_MAX * 2];
	sqlite3_stmt *st;
	int tx, rc;

	if ((rc = dir_user_get(d, tenant_id, id, &u, err)) != 0)
		return rc;
	if (dir_fold_key("user principal name", u.upn, key, sizeof(key), err) != 0)
		return err->code;
	if ((tx = dir_tx_begin(d, err)) < 0)
		return tx;
	rc = dir_user_simple(d, sql_user_delete_assignments, tenant_id, id, "purge user", err);
	if (rc >= 0 && (st = dir_stmt(d, sql_user_delete_signins, err)) != NULL) {
		dir_bind_text(st, 1, tenant_id);
		dir_bind_text(st, 2, id);
		dir_bind_text(st, 3, key);
		rc = dir_step_change(d, st, "purge user", err);
		dir_stmt_done(st);
	} else if (rc >= 0) {
		rc = err->code;
	}
	if (rc >= 0)
		rc = dir_audit_redact(d, tenant_id, id, err);
	/* Memberships, factors, sessions, codes and tokens cascade from the row. */
	if (rc >= 0)
		rc = dir_user_simple(d, sql_user_delete, tenant_id, id, "purge user", err);
	if (dir_tx_end(d, tx, rc >= 0, err) != 0)
		return err->code;
	if (rc < 0)
		return rc;
	if (sqlite3_get_autocommit(d->db))
		return dir_checkpoint(d, err);
	return 0;
}

int dir_user_list(struct dir *d, const char *tenant_id, const struct dir_user_query *q,
		  int (*cb)(void *ctx, const struct dir_user *u), void *ctx, struct err *err)
{
	static const struct dir_user_query all = {NULL, 0, 0, -1, NULL};
	char after[DIR_UPN_MAX * 2] = "", prefix[DIR_UPN_MAX * 2] = "";
	sqlite3_stmt *st;
	struct dir_user u;
	int rc = SQLITE_DONE, stop = 0;

	if (q == NULL)
		q = &all;
	if (q->after_upn != NULL && dir_fold_key("cursor", q->after_upn, after, sizeof(after), err))
		return err->code;
	if (q->prefix != NULL && dir_fold_key("prefix", q->prefix, prefix, sizeof(prefix), err))
		return err->code;
	if ((st = dir_stmt(d, sql_user_list, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, after);
	sqlite3_bind_int(st, 3, q->include_deleted != 0);
	sqlite3_bind_int(st, 4, q->source);
	dir_bind_text(st, 5, q->source == DIR_SOURCE_LDAP ? "ldap" : "cloud");
	sqlite3_bind_int64(st, 6, q->limit > 0 ? q->limit : -1);
	if (q->prefix != NULL)
		dir_bind_text(st, 7, prefix);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_user_row(st, &u);
		stop = cb(ctx, &u);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list users");
	dir_stmt_done(st);
	return stop;
}

static const char sql_deleted_users[] =
	"SELECT tenant_id, id FROM users WHERE deleted_at IS NOT NULL AND deleted_at < ?1 LIMIT 100";
static const char sql_deleted_groups[] =
	"SELECT tenant_id, id FROM groups WHERE deleted_at IS NOT NULL AND deleted_at < ?1 LIMIT 100";

int dir_purge_deleted(struct dir *d, int64_t older_than, int *purged, struct err *err)
{
	const char *const sqls[] = {sql_deleted_users, sql_deleted_groups};
	int n = 0;

	for (int k = 0; k < 2; k++) {
		for (;;) {
			/* read a batch, then purge it: purging while a read is open would skip rows */
			char ids[100][2][DIR_ID_MAX];
			int got = 0, rc;
			sqlite3_stmt *st = dir_stmt(d, sqls[k], err);
			if (st == NULL)
				return err->code;
			sqlite3_bind_int64(st, 1, older_than);
			while ((rc = sqlite3_step(st)) == SQLITE_ROW && got < 100) {
				dir_col_text(st, 0, ids[got][0], DIR_ID_MAX);
				dir_col_text(st, 1, ids[got][1], DIR_ID_MAX);
				got++;
			}
			dir_stmt_done(st);
			if (rc != SQLITE_DONE && rc != SQLITE_ROW)
				return dir_fail(d, err, "find deleted objects");
			for (int i = 0; i < got; i++) {
				rc = k == 0 ? dir_user_purge(d, ids[i][0], ids[i][1], err)
					    : dir_group_purge(d, ids[i][0], ids[i][1], err);
				if (rc != 0)
					return rc;
				n++;
			}
			if (got < 100)
				break;
		}
	}
	if (purged != NULL)
		*purged = n;
	return 0;
}
