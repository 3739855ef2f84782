/*
 * dir_mfa: TOTP credentials, recovery codes and the walk over every sealed
 * value (for re-encryption under a new key).
 *
 * The store only ever sees sealed secrets and digests.  Whatever must hold
 * between two idp nodes offered the same code at the same moment is one
 * statement with its condition in the WHERE clause: "accept step s only if
 * every accepted step is lower and the factor is not locked", "use this
 * recovery code only if it is unused", "count a failure, locking at the
 * limit".  SQLite serialises writers; PostgreSQL would give the same
 * guarantee to the same statements.
 */
#include "dir_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOTP_COLS                                                                                  \
	"user_id, secret_enc, algorithm, digits, period, confirmed, last_step, failures, "         \
	"window_start, locked_until, created_at"

static const char sql_totp_confirmed[] = "SELECT confirmed FROM totp_credentials WHERE "
                                         "tenant_id = ?1 AND user_id = ?2";
static const char sql_totp_put[] =
        "INSERT INTO totp_credentials (tenant_id, user_id, secret_enc, algorithm, digits, period, "
        "confirmed, last_step, failures, window_start, locked_until, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0, 0, 0, ?7) "
        "ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, "
        "algorithm = excluded.algorithm, digits = excluded.digits, period = excluded.period, "
        "last_step = 0, failures = 0, window_start = 0, locked_until = 0, "
        "created_at = excluded.created_at "
        "WHERE totp_credentials.tenant_id = ?1 AND totp_credentials.confirmed = 0";
static const char sql_totp_get[] =
        "SELECT " TOTP_COLS " FROM totp_credentials WHERE tenant_id = ?1 AND user_id = ?2";
static const char sql_totp_confirm[] =
        "UPDATE totp_credentials SET confirmed = 1, last_step = ?4, failures = 0, "
        "window_start = 0, locked_until = 0 WHERE tenant_id = ?1 AND user_id = ?2 AND "
        "confirmed = 0 AND secret_enc = ?3 AND locked_until <= ?5";
static const char sql_totp_accept[] =
        "UPDATE totp_credentials SET last_step = ?3, failures = 0, window_start = 0 "
        "WHERE tenant_id = ?1 AND user_id = ?2 AND confirmed = 1 AND last_step < ?3 AND "
        "locked_until <= ?4";
/*
 * One failed attempt.  The window goes on while its first failure is less
 * than ?4 seconds ago and no lock began since it opened (a lock always ends
 * after window_start, so locked_until > window_start means "locked within
 * this window"); otherwise this failure opens a new window.  All the right
 * hand sides see the row as it was before the statement.
 */
#define TOTP_WINDOW_GOES_ON                                                                        \
	"(failures > 0 AND window_start + ?4 > ?3 AND locked_until <= window_start)"
#define TOTP_NEW_COUNT "(CASE WHEN " TOTP_WINDOW_GOES_ON " THEN failures + 1 ELSE 1 END)"
static const char sql_totp_fail[] =
        "UPDATE totp_credentials SET failures = " TOTP_NEW_COUNT ", "
        "window_start = CASE WHEN " TOTP_WINDOW_GOES_ON " THEN window_start ELSE ?3 END, "
        "locked_until = CASE WHEN " TOTP_NEW_COUNT " >= ?5 THEN ?3 + ?6 ELSE locked_until END "
        "WHERE tenant_id = ?1 AND user_id = ?2 AND locked_until <= ?3 "
        "RETURNING failures, locked_until";
static const char sql_totp_delete[] =
        "DELETE FROM totp_credentials WHERE tenant_id = ?1 AND user_id = ?2";
static const char sql_recovery_delete[] =
        "DELETE FROM recovery_codes WHERE tenant_id = ?1 AND user_id = ?2";
static const char sql_recovery_insert[] =
        "INSERT INTO recovery_codes (user_id, code_hash, tenant_id, used_at) VALUES (?2, ?3, ?1, "
        "NULL)";
static const char sql_recovery_unused[] =
        "SELECT code_hash FROM recovery_codes WHERE tenant_id = ?1 AND user_id = ?2 AND "
        "used_at IS NULL ORDER BY code_hash";
static const char sql_recovery_consume[] =
        "UPDATE recovery_codes SET used_at = ?4 WHERE tenant_id = ?1 AND user_id = ?2 AND "
        "code_hash = ?3 AND used_at IS NULL";
static const char sql_recovery_count[] =
        "SELECT count(*) FILTER (WHERE used_at IS NULL), count(*) FILTER (WHERE used_at IS NOT "
        "NULL) FROM recovery_codes WHERE tenant_id = ?1 AND user_id = ?2";

/* The sealed columns, walked in key order a batch at a time. */
static const char sql_sealed_totp[] =
        "SELECT tenant_id, user_id, secret_enc FROM totp_credentials WHERE user_id > ?1 "
        "ORDER BY user_id LIMIT ?2";
static const char sql_sealed_keys[] =
        "SELECT tenant_id, kid, private_enc FROM signing_keys WHERE kid > ?1 ORDER BY kid "
        "LIMIT ?2";
static const char sql_sealed_totp_set[] =
        "UPDATE totp_credentials SET secret_enc = ?4 WHERE tenant_id = ?1 AND user_id = ?2 AND "
        "secret_enc = ?3";
static const char sql_sealed_keys_set[] =
        "UPDATE signing_keys SET private_enc = ?4 WHERE tenant_id = ?1 AND kid = ?2 AND "
        "private_enc = ?3";

static const char *const totp_algorithms[] = {"SHA1", "SHA256", "SHA512"};

static int dir_totp_check(const struct dir_totp *t, struct err *err)
{
	size_t i;

	if (dir_check_text("sealed secret", t->secret_enc, sizeof(t->secret_enc), 1, err) != 0)
		return err->code;
	for (i = 0; i < sizeof(totp_algorithms) / sizeof(totp_algorithms[0]); i++)
		if (strcmp(t->algorithm, totp_algorithms[i]) == 0)
			break;
	if (i == sizeof(totp_algorithms) / sizeof(totp_algorithms[0]))
		return err_set(err, ERR_INVALID, "TOTP algorithm must be SHA1, SHA256 or SHA512");
	if (t->digits != 6 && t->digits != 8)
		return err_set(err, ERR_INVALID, "TOTP digits must be 6 or 8");
	if (t->period < 1 || t->period > 300)
		return err_set(err, ERR_INVALID, "TOTP period must be 1..300 seconds");
	return 0;
}

/* The user's credential state: 1 confirmed, 0 pending, ERR_NOT_FOUND none. */
static int dir_totp_state(struct dir *d, const char *tenant_id, const char *user_id,
                          struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_totp_confirmed, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0) != 0;
	else if (rc == SQLITE_DONE)
		rc = err_set(err, ERR_NOT_FOUND, "no second factor enrolled");
	else
		rc = dir_fail(d, err, "read second factor");
	dir_stmt_done(st);
	return rc;
}

int dir_totp_put_pending(struct dir *d, const char *tenant_id, struct dir_totp *t, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_totp_check(t, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_totp_put, err)) == NULL)
		return err->code;
	t->created_at = dir_now(d);
	t->confirmed = 0;
	t->last_step = t->window_start = t->locked_until = 0;
	t->failures = 0;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, t->user_id);
	dir_bind_text(st, 3, t->secret_enc);
	dir_bind_text(st, 4, t->algorithm);
	sqlite3_bind_int(st, 5, t->digits);
	sqlite3_bind_int(st, 6, t->period);
	sqlite3_bind_int64(st, 7, t->created_at);
	rc = dir_step_change(d, st, "store second factor", err);
	dir_stmt_done(st);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	if (rc == 0) /* the upsert's WHERE refused: a confirmed factor, or another tenant's row */
		return err_set(err, ERR_EXISTS,
		               "the user already has a confirmed second factor: remove it first");
	return rc < 0 ? rc : 0;
}

static void dir_totp_row(sqlite3_stmt *st, struct dir_totp *t)
{
	dir_col_text(st, 0, t->user_id, sizeof(t->user_id));
	dir_col_text(st, 1, t->secret_enc, sizeof(t->secret_enc));
	dir_col_text(st, 2, t->algorithm, sizeof(t->algorithm));
	t->digits = sqlite3_column_int(st, 3);
	t->period = sqlite3_column_int(st, 4);
	t->confirmed = sqlite3_column_int(st, 5);
	t->last_step = sqlite3_column_int64(st, 6);
	t->failures = sqlite3_column_int(st, 7);
	t->window_start = sqlite3_column_int64(st, 8);
	t->locked_until = sqlite3_column_int64(st, 9);
	t->created_at = sqlite3_column_int64(st, 10);
}

int dir_totp_get(struct dir *d, const char *tenant_id, const char *user_id, struct dir_totp *out,
                 struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_totp_get, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_totp_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no second factor enrolled");
	} else {
		rc = dir_fail(d, err, "read second factor");
	}
	dir_stmt_done(st);
	return rc;
}

/* Delete the user's recovery codes and insert the n digests. */
static int dir_recovery_store(struct dir *d, const char *tenant_id, const char *user_id,
                              const char *const *hashes, int n, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (n < 0 || n > DIR_RECOVERY_MAX)
		return err_set(err, ERR_INVALID, "at most %d recovery codes", DIR_RECOVERY_MAX);
	for (int i = 0; i < n; i++)
		if (dir_check_text("recovery code digest", hashes[i], DIR_HASH_MAX, 1, err) != 0)
			return err->code;
	if ((st = dir_stmt(d, sql_recovery_delete, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	rc = dir_step_change(d, st, "replace recovery codes", err);
	dir_stmt_done(st);
	for (int i = 0; rc >= 0 && i < n; i++) {
		if ((st = dir_stmt(d, sql_recovery_insert, err)) == NULL)
			return err->code;
		dir_bind_text(st, 1, tenant_id);
		dir_bind_text(st, 2, user_id);
		dir_bind_text(st, 3, hashes[i]);
		rc = dir_step_change(d, st, "store recovery code", err);
		dir_stmt_done(st);
	}
	return rc < 0 ? rc : 0;
}

int dir_totp_confirm(struct dir *d, const char *tenant_id, const char *user_id,
                     const char *secret_enc, int64_t step, int64_t now,
                     const char *const *code_hashes, int n, struct err *err)
{
	sqlite3_stmt *st;
	int tx, rc;

	if ((tx = dir_tx_begin(d, err)) < 0)
		return tx;
	if ((st = dir_stmt(d, sql_totp_confirm, err)) == NULL) {
		rc = err->code;
		goto out;
	}
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	dir_bind_text(st, 3, secret_enc);
	sqlite3_bind_int64(st, 4, step);
	sqlite3_bind_int64(st, 5, now);
	rc = dir_step_change(d, st, "confirm second factor", err);
	dir_stmt_done(st);
	if (rc == 0) {
		struct dir_totp t;
		if (dir_totp_get(d, tenant_id, user_id, &t, err) == 0 && !t.confirmed &&
		    strcmp(t.secret_enc, secret_enc) == 0 && t.locked_until > now)
			rc = err_set(err, ERR_DENIED, "the second factor is locked");
		else
			rc = err_set(err, ERR_NOT_FOUND,
			             "no pending enrollment with this secret (removed, confirmed "
			             "or restarted meanwhile)");
	}
	if (rc > 0)
		rc = dir_recovery_store(d, tenant_id, user_id, code_hashes, n, err);
out:
	if (dir_tx_end(d, tx, rc >= 0, err) != 0)
		return err->code;
	return rc < 0 ? rc : 0;
}

int dir_totp_accept(struct dir *d, const char *tenant_id, const char *user_id, int64_t step,
                    int64_t now, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_totp_accept, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, step);
	sqlite3_bind_int64(st, 4, now);
	rc = dir_step_change(d, st, "accept one-time code", err);
	dir_stmt_done(st);
	if (rc < 0)
		return rc;
	if (rc > 0)
		return 0;
	rc = dir_totp_state(d, tenant_id, user_id, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "the second factor is not confirmed yet");
	return err_set(err, ERR_DENIED, "time step already used, or the factor is locked");
}

int dir_totp_fail(struct dir *d, const char *tenant_id, const char *user_id, int64_t now,
                  const struct dir_totp_limits *lim, int *failures, int64_t *locked_until,
                  struct err *err)
{
	sqlite3_stmt *st;
	struct dir_totp t;
	int rc;

	if (lim->max_failures < 1 || lim->window < 1 || lim->lockout < 1)
		return err_set(err, ERR_INVALID, "failure limits must be positive");
	if ((st = dir_stmt(d, sql_totp_fail, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, lim->window);
	sqlite3_bind_int(st, 5, lim->max_failures);
	sqlite3_bind_int64(st, 6, lim->lockout);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (failures != NULL)
			*failures = sqlite3_column_int(st, 0);
		if (locked_until != NULL)
			*locked_until = sqlite3_column_int64(st, 1);
		/* RETURNING rows are buffered: the change is made; finish the statement. */
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		rc = rc == SQLITE_DONE ? 0 : dir_fail(d, err, "count failure");
		dir_stmt_done(st);
		return rc;
	}
	rc = rc == SQLITE_DONE ? 1 : dir_fail(d, err, "count failure");
	dir_stmt_done(st);
	if (rc < 0)
		return rc;
	/* No row changed: the user has no factor, or it is locked already. */
	if ((rc = dir_totp_get(d, tenant_id, user_id, &t, err)) != 0)
		return rc;
	if (failures != NULL)
		*failures = t.failures;
	if (locked_until != NULL)
		*locked_until = t.locked_until;
	return 0;
}

int dir_totp_delete(struct dir *d, const char *tenant_id, const char *user_id, struct err *err)
{
	sqlite3_stmt *st;
	int tx, rc;

	if ((tx = dir_tx_begin(d, err)) < 0)
		return tx;
	if ((st = dir_stmt(d, sql_recovery_delete, err)) == NULL) {
		rc = err->code;
		goto out;
	}
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	rc = dir_step_change(d, st, "remove recovery codes", err);
	dir_stmt_done(st);
	if (rc < 0)
		goto out;
	if ((st = dir_stmt(d, sql_totp_delete, err)) == NULL) {
		rc = err->code;
		goto out;
	}
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	rc = dir_step_change(d, st, "remove second factor", err);
	dir_stmt_done(st);
	if (rc == 0)
		rc = err_set(err, ERR_NOT_FOUND, "no second factor enrolled");
out:
	if (dir_tx_end(d, tx, rc >= 0, err) != 0)
		return err->code;
	return rc < 0 ? rc : 0;
}

int dir_recovery_unused(struct dir *d, const char *tenant_id, const char *user_id,
                        char (*hashes)[DIR_HASH_MAX], int cap, int *n, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_recovery_unused, err);
	int rc;

	*n = 0;
	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (*n < cap)
			dir_col_text(st, 0, hashes[(*n)++], DIR_HASH_MAX);
	rc = rc == SQLITE_DONE ? 0 : dir_fail(d, err, "read recovery codes");
	dir_stmt_done(st);
	return rc;
}

int dir_recovery_consume(struct dir *d, const char *tenant_id, const char *user_id,
                         const char *code_hash, int64_t now, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_recovery_consume, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	dir_bind_text(st, 3, code_hash);
	sqlite3_bind_int64(st, 4, now);
	rc = dir_step_change(d, st, "use recovery code", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_DENIED, "recovery code already used or unknown");
	return rc < 0 ? rc : 0;
}

int dir_recovery_replace(struct dir *d, const char *tenant_id, const char *user_id,
                         const char *const *code_hashes, int n, struct err *err)
{
	int tx, rc;

	if ((tx = dir_tx_begin(d, err)) < 0)
		return tx;
	rc = dir_totp_state(d, tenant_id, user_id, err);
	if (rc == 0)
		rc = err_set(err, ERR_NOT_FOUND, "the second factor is not confirmed yet");
	if (rc > 0)
		rc = dir_recovery_store(d, tenant_id, user_id, code_hashes, n, err);
	if (dir_tx_end(d, tx, rc >= 0, err) != 0)
		return err->code;
	return rc < 0 ? rc : 0;
}

int dir_recovery_count(struct dir *d, const char *tenant_id, const char *user_id, int *unused,
                       int *used, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_recovery_count, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (unused != NULL)
			*unused = sqlite3_column_int(st, 0);
		if (used != NULL)
			*used = sqlite3_column_int(st, 1);
		rc = 0;
	} else {
		rc = dir_fail(d, err, "count recovery codes");
	}
	dir_stmt_done(st);
	return rc;
}

/* ---- sealed values ---------------------------------------------------- */

#define DIR_SEALED_BATCH 128

struct dir_sealed_row {
	char tenant_id[DIR_ID_MAX];
	char object_id[DIR_NAME_MAX];
	char *value;
};

/* Read the next batch of one table after cursor; *n rows, values on the heap. */
static int dir_sealed_batch(struct dir *d, const char *sql, const char *cursor,
                            struct dir_sealed_row *rows, int *n, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	*n = 0;
	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, cursor);
	sqlite3_bind_int(st, 2, DIR_SEALED_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dir_sealed_row *r = &rows[*n];
		const unsigned char *v = sqlite3_column_text(st, 2);

		dir_col_text(st, 0, r->tenant_id, sizeof(r->tenant_id));
		dir_col_text(st, 1, r->object_id, sizeof(r->object_id));
		if ((r->value = strdup(v != NULL ? (const char *)v : "")) == NULL) {
			rc = err_set(err, ERR_INTERNAL, "out of memory");
			break;
		}
		(*n)++;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc != ERR_INTERNAL)
		rc = dir_fail(d, err, "read sealed values");
	dir_stmt_done(st);
	return rc;
}

int dir_sealed_each(struct dir *d, int (*cb)(void *ctx, const struct dir_sealed *s), void *ctx,
                    struct err *err)
{
	static const char *const sqls[] = {sql_sealed_totp, sql_sealed_keys};
	struct dir_sealed_row *rows = calloc(DIR_SEALED_BATCH, sizeof(*rows));
	int rc = 0, n = 0;

	if (rows == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	for (int kind = 0; kind < 2 && rc == 0; kind++) {
		char cursor[DIR_NAME_MAX] = "";

		do {
			if ((rc = dir_sealed_batch(d, sqls[kind], cursor, rows, &n, err)) != 0)
				break;
			for (int i = 0; i < n && rc == 0; i++) {
				struct dir_sealed s;

				s.kind = (enum dir_sealed_kind)kind;
				memcpy(s.tenant_id, rows[i].tenant_id, sizeof(s.tenant_id));
				memcpy(s.object_id, rows[i].object_id, sizeof(s.object_id));
				s.value = rows[i].value;
				rc = cb(ctx, &s);
			}
			if (n > 0)
				memcpy(cursor, rows[n - 1].object_id, sizeof(cursor));
			for (int i = 0; i < n; i++) {
				free(rows[i].value);
				rows[i].value = NULL;
			}
		} while (rc == 0 && n == DIR_SEALED_BATCH);
	}
	for (int i = 0; i < n; i++)
		free(rows[i].value);
	free(rows);
	return rc;
}

int dir_sealed_replace(struct dir *d, const struct dir_sealed *s, const char *value,
                       struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (s->kind != DIR_SEALED_TOTP && s->kind != DIR_SEALED_SIGNING_KEY)
		return err_set(err, ERR_INVALID, "unknown kind of sealed value");
	if (s->kind == DIR_SEALED_TOTP &&
	    dir_check_text("sealed secret", value, DIR_TOTP_SEALED_MAX, 1, err) != 0)
		return err->code;
	if (value == NULL || *value == '\0')
		return err_set(err, ERR_INVALID, "empty sealed value");
	st = dir_stmt(d, s->kind == DIR_SEALED_TOTP ? sql_sealed_totp_set : sql_sealed_keys_set,
	              err);
	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, s->tenant_id);
	dir_bind_text(st, 2, s->object_id);
	dir_bind_text(st, 3, s->value);
	dir_bind_text(st, 4, value);
	rc = dir_step_change(d, st, "replace sealed value", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "the sealed value changed or went meanwhile");
	return rc < 0 ? rc : 0;
}
