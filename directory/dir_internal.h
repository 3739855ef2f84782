/*
 * dir_internal: what the directory's own files share and nobody else sees:
 * the handle, the prepared-statement cache, error mapping, and the helpers
 * that copy columns into fixed-size fields.
 */
#ifndef IDP_DIR_INTERNAL_H
#define IDP_DIR_INTERNAL_H

#include "dir.h"
#include "rand.h"

#include <sqlite3.h>

#define DIR_STMT_SLOTS 256

struct dir_stmt_slot {
	const char *sql; /* key: the address of a static SQL string */
	sqlite3_stmt *stmt;
};

struct dir {
	sqlite3 *db;
	char *path;
	int read_only;
	int version;
	struct dir_argon2 argon2;
	struct clock clock;
	struct dir_stmt_slot stmts[DIR_STMT_SLOTS];
	struct rand_pool ids; /* the random bits of new object ids */
	struct dir_ckpt *ckpt; /* the checkpointer thread, when started (dir_ckpt.c) */
};

/* The store's clock. */
int64_t dir_now(struct dir *d);

/*
 * The prepared statement for sql, a string with static storage: prepared on
 * first use and kept for the handle's life.  Returns NULL with err filled.
 * Hand it back with dir_stmt_done() on every path.
 */
sqlite3_stmt *dir_stmt(struct dir *d, const char *sql, struct err *err);

/* Read one integer (a pragma's, or a query's first column) into *out. */
int dir_pragma_int(struct dir *d, const char *sql, int *out, struct err *err);

/* Every foreign key holds (PRAGMA foreign_key_check is empty); else ERR_CORRUPT. */
int dir_foreign_keys_hold(struct dir *d, struct err *err);

/* Reset st and clear its bindings (NULL is fine). */
void dir_stmt_done(sqlite3_stmt *st);

/* Map the engine's last error to an err code and message, prefixed by what. */
int dir_fail(struct dir *d, struct err *err, const char *what);

/* Execute SQL without results (schema, pragmas); 0 or a filled err. */
int dir_exec(struct dir *d, const char *sql, struct err *err);

/*
 * Atomic sections that nest: at the outermost level a write transaction
 * (BEGIN IMMEDIATE), inside one a savepoint.  dir_tx_begin() returns which
 * (DIR_TX_OUTER or DIR_TX_NESTED) or a negative err; hand that to
 * dir_tx_end(), which commits when ok is non-zero and rolls back otherwise.
 */
enum { DIR_TX_NESTED = 0, DIR_TX_OUTER = 1 };
int dir_tx_begin(struct dir *d, struct err *err);
int dir_tx_end(struct dir *d, int tx, int ok, struct err *err);

/*
 * Move the tenant's role-data version on (schema 9: membership changes do
 * it once per statement, in the transaction that made them; the other
 * role data by triggers).  0 or an err code.
 */
int dir_role_data_bump(struct dir *d, const char *tenant_id, struct err *err);

/* Run a statement that changes rows; the number changed, or a negative err. */
int dir_step_change(struct dir *d, sqlite3_stmt *st, const char *what, struct err *err);

/* Bind helpers: text with SQLITE_STATIC (the caller keeps it alive). */
int dir_bind_text(sqlite3_stmt *st, int i, const char *s);
int dir_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);

/* Copy column i of the current row into dst (capacity cap); NULL gives "". */
void dir_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap);

/*
 * Check a text field before it is stored: valid UTF-8 without control
 * characters, shorter than cap, and non-empty when required.
 */
int dir_check_text(const char *field, const char *value, size_t cap, int required,
		   struct err *err);

/* The case-folded key of a unique name; ERR_INVALID if it cannot be made. */
int dir_fold_key(const char *field, const char *value, char *out, size_t cap, struct err *err);

/* Make a fresh object id (UUIDv7, its random bits from d's pool). */
int dir_new_id(struct dir *d, char out[DIR_ID_MAX], struct err *err);

/* Password hashing (dir_password.c). */
int dir_password_hash(const struct dir_argon2 *p, const char *password, char *out, size_t cap,
		      struct err *err);
int dir_password_verify(const char *encoded, const char *password)
	__attribute__((warn_unused_result));
int dir_password_needs_rehash(const char *encoded, const struct dir_argon2 *p);

/* Schema migrations (dir_schema.c): bring the store to target. */
int dir_schema_migrate(struct dir *d, int target, struct err *err);

/* Redact the audit log's summaries about a purged object (dir_log). */
int dir_audit_redact(struct dir *d, const char *tenant_id, const char *target_id,
		     struct err *err);

#endif
