/*
 * dir_db: opening the SQLite store, the statement cache, transactions and
 * the small helpers every other dir_*.c file uses.
 *
 * Settings chosen at open: WAL (readers never block the writer), foreign
 * keys on (membership and credentials cannot outlive their objects, or
 * cross tenants: see dir_schema.c), secure_delete (deleted rows are
 * overwritten, so a purge leaves nothing in the file), synchronous=FULL (a
 * committed identity survives power loss), and a busy timeout so that
 * several processes can write the same store.
 */
#include "dir_internal.h"

#include "rand.h"
#include "utf8.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* "IDP1": tells our stores from other SQLite files. */
#define DIR_APPLICATION_ID 0x49445031

int64_t dir_now(struct dir *d)
{
	return clock_now(&d->clock);
}

int dir_fail(struct dir *d, struct err *err, const char *what)
{
	int ext = sqlite3_extended_errcode(d->db), code;
	const char *msg = sqlite3_errmsg(d->db);

	switch (ext & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = ERR_BUSY;
		msg = "the store is locked by another writer (busy timeout passed)";
		break;
	case SQLITE_READONLY:
		code = ERR_READONLY;
		msg = "the store is read-only (file, directory or mount not writable)";
		break;
	case SQLITE_FULL:
		code = ERR_IO;
		msg = "disk full";
		break;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		code = ERR_IO;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = ERR_CORRUPT;
		msg = "not a database or corrupt";
		break;
	case SQLITE_CONSTRAINT:
		if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			code = ERR_EXISTS;
		else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
			code = ERR_NOT_FOUND;
		else
			code = ERR_INVALID;
		break;
	case SQLITE_TOOBIG:
		code = ERR_LIMIT;
		break;
	case SQLITE_NOMEM:
		code = ERR_INTERNAL;
		msg = "out of memory";
		break;
	default:
		code = ERR_INTERNAL;
		break;
	}
	return err_set(err, code, "%s: %s", what, msg);
}

static size_t dir_stmt_hash(const char *sql)
{
	uintptr_t p = (uintptr_t)sql;
	return (size_t)((p >> 3) * 2654435761u) % DIR_STMT_SLOTS;
}

sqlite3_stmt *dir_stmt(struct dir *d, const char *sql, struct err *err)
{
	size_t i = dir_stmt_hash(sql);

	for (size_t probe = 0; probe < DIR_STMT_SLOTS; probe++, i = (i + 1) % DIR_STMT_SLOTS) {
		struct dir_stmt_slot *s = &d->stmts[i];
		if (s->sql == sql)
			return s->stmt;
		if (s->sql == NULL) {
			if (sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt,
					       NULL) != SQLITE_OK) {
				dir_fail(d, err, "prepare");
				s->stmt = NULL;
				return NULL;
			}
			s->sql = sql;
			return s->stmt;
		}
	}
	err_set(err, ERR_INTERNAL, "statement cache full");
	return NULL;
}

void dir_stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int dir_exec(struct dir *d, const char *sql, struct err *err)
{
	if (sqlite3_exec(d->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dir_fail(d, err, "exec");
	return 0;
}

int dir_tx_begin(struct dir *d, struct err *err)
{
	if (sqlite3_get_autocommit(d->db)) {
		if (sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return dir_fail(d, err, "begin");
		return DIR_TX_OUTER;
	}
	if (sqlite3_exec(d->db, "SAVEPOINT dir_tx", NULL, NULL, NULL) != SQLITE_OK)
		return dir_fail(d, err, "savepoint");
	return DIR_TX_NESTED;
}

int dir_tx_end(struct dir *d, int tx, int ok, struct err *err)
{
	int rc;

	if (tx == DIR_TX_NESTED) {
		if (!ok)
			sqlite3_exec(d->db, "ROLLBACK TO dir_tx", NULL, NULL, NULL);
		if (sqlite3_exec(d->db, "RELEASE dir_tx", NULL, NULL, NULL) != SQLITE_OK)
			return dir_fail(d, err, "release savepoint");
		return 0;
	}
	if (!ok) {
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
		return 0;
	}
	if (sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	rc = dir_fail(d, err, "commit");
	sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int dir_begin(struct dir *d, struct err *err)
{
	if (!sqlite3_get_autocommit(d->db))
		return err_set(err, ERR_INVALID, "a transaction is already open");
	if (sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return dir_fail(d, err, "begin");
	return 0;
}

int dir_commit(struct dir *d, struct err *err)
{
	if (sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		int rc = dir_fail(d, err, "commit");
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return 0;
}

void dir_rollback(struct dir *d)
{
	if (!sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

int dir_step_change(struct dir *d, sqlite3_stmt *st, const char *what, struct err *err)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return dir_fail(d, err, what);
	return sqlite3_changes(d->db);
}

int dir_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int dir_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || *s == '\0')
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

void dir_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t n = s == NULL ? 0 : (size_t)sqlite3_column_bytes(st, i);

	/* Values were checked against cap when written; cut defensively all the same. */
	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

int dir_check_text(const char *field, const char *value, size_t cap, int required,
		   struct err *err)
{
	size_t len;

	if (value == NULL || *value == '\0')
		return required ? err_set(err, ERR_INVALID, "%s is required", field) : 0;
	len = strnlen(value, cap);
	if (len >= cap)
		return err_set(err, ERR_INVALID, "%s is longer than %zu bytes", field, cap - 1);
	/* one pass when it is fine (printable implies valid); the second says why not */
	if (utf8_printable(value))
		return 0;
	if (!utf8_valid(value, len))
		return err_set(err, ERR_INVALID, "%s is not valid UTF-8", field);
	return err_set(err, ERR_INVALID, "%s contains control characters", field);
}

int dir_fold_key(const char *field, const char *value, char *out, size_t cap, struct err *err)
{
	if (utf8_fold(value, out, cap) < 0)
		return err_set(err, ERR_INVALID, "%s cannot be case-folded within %zu bytes", field,
			       cap - 1);
	return 0;
}

int dir_new_id(struct dir *d, char out[DIR_ID_MAX], struct err *err)
{
	/* time-ordered: bulk inserts append to the id indexes instead of scattering */
	if (rand_uuid7_pool(&d->ids, out) != 0)
		return err_set(err, ERR_INTERNAL, "the kernel's random source failed");
	return 0;
}

int dir_pragma_int(struct dir *d, const char *sql, int *out, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
		return dir_fail(d, err, "read settings");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return dir_fail(d, err, "read settings");
	return 0;
}

/* Refuse files that are not ours before touching them. */
static int dir_check_identity(struct dir *d, struct err *err)
{
	int app_id = 0, tables = 0;

	if (dir_pragma_int(d, "PRAGMA application_id", &app_id, err) != 0)
		return err->code;
	if (app_id == DIR_APPLICATION_ID)
		return 0;
	if (dir_pragma_int(d, "SELECT count(*) FROM sqlite_schema", &tables, err) != 0)
		return err->code;
	if (app_id != 0 || tables != 0)
		return err_set(err, ERR_CORRUPT,
			       "a SQLite database of another program (application id %#x)",
			       (unsigned)app_id);
	return 0;
}

/* SQL function idp_fold(text): the case-folded form used for unique names. */
static void dir_sql_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *s = sqlite3_value_text(argv[0]);
	char out[DIR_TEXT_MAX * 2];

	(void)argc;
	if (s == NULL || utf8_fold((const char *)s, out, sizeof(out)) < 0) {
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

static int dir_configure(struct dir *d, const struct dir_options *opts, struct err *err)
{
	int ms = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000;
	char journal[16] = "";
	sqlite3_stmt *st;

	sqlite3_busy_timeout(d->db, ms);
	sqlite3_extended_result_codes(d->db, 1);
	if (sqlite3_create_function(d->db, "idp_fold", 1,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
				    dir_sql_fold, NULL, NULL) != SQLITE_OK)
		return dir_fail(d, err, "register functions");
	if (dir_check_identity(d, err) != 0)
		return err->code;
	if (dir_exec(d, "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA synchronous=FULL;"
			"PRAGMA trusted_schema=OFF",
		     err) != 0)
		return err->code;
	if (d->read_only)
		return 0;
	/*
	 * 8 KiB pages for a new store (an existing one keeps its size): half
	 * the log frames, write calls and page headers per row of SQLite's
	 * 4 KiB default; a full sync of 100k users measured ~5% faster.
	 * Must come before the first table and the switch to WAL.
	 */
	if (dir_exec(d, "PRAGMA page_size = 8192", err) != 0)
		return err->code;
	if (sqlite3_prepare_v2(d->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
		return dir_fail(d, err, "journal mode");
	if (sqlite3_step(st) == SQLITE_ROW)
		dir_col_text(st, 0, journal, sizeof(journal));
	sqlite3_finalize(st);
	if (strcmp(journal, "wal") != 0)
		return dir_fail(d, err, "switch to write-ahead logging");
	return 0;
}

/*
 * A read-only open on a read-only file system: SQLite cannot create the
 * WAL's shared-memory file there, so it would fail with "unable to open
 * database file".  Nobody can write the file either, so it is opened as
 * immutable (a URI; the path percent-encoded).  NULL when not needed.
 */
static char *dir_immutable_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct statvfs vfs;
	char *uri, *o;

	if (statvfs(path, &vfs) != 0 || !(vfs.f_flag & ST_RDONLY) ||
	    (uri = malloc(strlen(path) * 3 + 32)) == NULL)
		return NULL;
	o = uri + sprintf(uri, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= 0x20 || *p >= 0x7f) {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	strcpy(o, "?immutable=1");
	return uri;
}

/*
 * SQLite keeps allocation statistics by default, each allocation behind a
 * process-wide mutex: 5% of a sync's writer thread.  We read no statistics
 * and set no heap limit.  Only possible before SQLite initializes; if the
 * program has used SQLite already, the setting stays as it was.
 */
static pthread_once_t dir_sqlite_once = PTHREAD_ONCE_INIT;

static void dir_sqlite_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct dir *dir_open(const struct dir_options *opts, struct err *err)
{
	static const struct dir_argon2 argon2_default = DIR_ARGON2_DEFAULT;
	struct err local;
	struct dir *d;
	char *uri = NULL;
	int flags, target, rc;

	if (err == NULL)
		err = &local;
	err_clear(err);
	pthread_once(&dir_sqlite_once, dir_sqlite_config);
	if (opts == NULL || opts->path == NULL || *opts->path == '\0') {
		err_set(err, ERR_INVALID, "no store path given");
		return NULL;
	}
	target = opts->target_version > 0 ? opts->target_version : DIR_SCHEMA_VERSION;
	if (target > DIR_SCHEMA_VERSION) {
		err_set(err, ERR_INVALID, "schema version %d is not known", target);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->path = strdup(opts->path)) == NULL) {
		free(d);
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	d->read_only = opts->read_only;
	d->clock = opts->clock;
	d->argon2 = opts->argon2.t_cost != 0 ? opts->argon2 : argon2_default;

	flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
		(d->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (d->read_only && (uri = dir_immutable_uri(opts->path)) != NULL)
		flags |= SQLITE_OPEN_URI;
	rc = sqlite3_open_v2(uri != NULL ? uri : opts->path, &d->db, flags, NULL);
	free(uri);
	if (rc != SQLITE_OK) {
		if (d->db == NULL)
			err_set(err, ERR_INTERNAL, "out of memory");
		else
			dir_fail(d, err, "open");
		goto fail;
	}
	if (!d->read_only && sqlite3_db_readonly(d->db, "main") == 1) {
		err_set(err, ERR_READONLY,
			"the store is read-only (file, directory or mount not writable)");
		goto fail;
	}
	if (dir_configure(d, opts, err) != 0)
		goto fail;
	if (dir_pragma_int(d, "PRAGMA user_version", &d->version, err) != 0)
		goto fail;
	if (d->version > DIR_SCHEMA_VERSION) {
		err_set(err, ERR_VERSION,
			"schema version %d is newer than this program's %d: run a newer idp",
			d->version, DIR_SCHEMA_VERSION);
		goto fail;
	}
	if (d->version < target) {
		if (d->read_only) {
			err_set(err, ERR_READONLY,
				"schema version %d needs migrating to %d but the store was opened "
				"read-only",
				d->version, target);
			goto fail;
		}
		if (dir_schema_migrate(d, target, err) != 0)
			goto fail;
	}
	return d;
fail:
	err_prefix(err, "%s", opts->path);
	dir_close(d);
	return NULL;
}

void dir_close(struct dir *d)
{
	if (d == NULL)
		return;
	dir_ckpt_stop(d);
	for (size_t i = 0; i < DIR_STMT_SLOTS; i++)
		sqlite3_finalize(d->stmts[i].stmt);
	sqlite3_close(d->db);
	rand_pool_wipe(&d->ids);
	free(d->path);
	free(d);
}

int dir_schema_version(struct dir *d)
{
	return d->version;
}

int dir_checkpoint(struct dir *d, struct err *err)
{
	int log = 0, done = 0;

	if (sqlite3_wal_checkpoint_v2(d->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done) !=
	    SQLITE_OK)
		return dir_fail(d, err, "checkpoint");
	return 0;
}

/*
 * Every foreign key holds: PRAGMA foreign_key_check comes back empty.
 * Migrations run it before they commit (they run with foreign keys off).
 */
int dir_foreign_keys_hold(struct dir *d, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(d->db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
		return dir_fail(d, err, "foreign key check");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err_set(err, ERR_CORRUPT, "a foreign key fails: %.60s row %lld references %.60s",
			(const char *)sqlite3_column_text(st, 0),
			(long long)sqlite3_column_int64(st, 1),
			(const char *)sqlite3_column_text(st, 2));
	else if (rc != SQLITE_DONE)
		dir_fail(d, err, "foreign key check");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : err->code;
}

int dir_integrity_check(struct dir *d, struct err *err)
{
	sqlite3_stmt *st;
	char first[200] = "";
	int rc, rows = 0;

	if (sqlite3_prepare_v2(d->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		return dir_fail(d, err, "integrity check");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows++ == 0)
			dir_col_text(st, 0, first, sizeof(first));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return dir_fail(d, err, "integrity check");
	if (rows != 1 || strcmp(first, "ok") != 0)
		return err_set(err, ERR_CORRUPT, "integrity check: %s", first);
	return dir_foreign_keys_hold(d, err);
}
