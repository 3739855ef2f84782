/*
 * dir_sync_state: what the directory sync keeps about itself: the cookie of
 * each connector, the record of its cycles (idp-sync --status), and the
 * settings of the connection that applies a sync.
 */
#include "dir_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_sync_state_get[] = "SELECT cookie, last_full_at FROM sync_state WHERE "
					 "tenant_id = ?1 AND connector = ?2";
static const char sql_sync_state_set[] =
	"INSERT INTO sync_state (tenant_id, connector, cookie, last_full_at, updated_at) "
	"VALUES (?1, ?2, ?3, CASE WHEN ?4 THEN ?5 END, ?5) "
	"ON CONFLICT (tenant_id, connector) DO UPDATE SET cookie = excluded.cookie, "
	"last_full_at = CASE WHEN ?4 THEN ?5 ELSE sync_state.last_full_at END, "
	"updated_at = ?5";
static const char sql_sync_other[] = "SELECT connector FROM sync_state WHERE tenant_id = ?1 AND "
				     "connector <> ?2 ORDER BY connector LIMIT 1";
static const char sql_sync_claim[] =
	"INSERT INTO sync_state (tenant_id, connector, cookie, last_full_at, updated_at) "
	"VALUES (?1, ?2, NULL, NULL, ?3) ON CONFLICT (tenant_id, connector) DO NOTHING";
static const char sql_sync_cycle_insert[] =
	"INSERT INTO sync_cycles (tenant_id, connector, kind, started_at, status) "
	"VALUES (?1, ?2, ?3, ?4, 'running')";
static const char sql_sync_cycle_prune[] =
	"DELETE FROM sync_cycles WHERE tenant_id = ?1 AND connector = ?2 AND id <= "
	"(SELECT id FROM sync_cycles WHERE tenant_id = ?1 AND connector = ?2 "
	"ORDER BY id DESC LIMIT 1 OFFSET 1000)";
static const char sql_sync_cycle_save[] =
	"UPDATE sync_cycles SET finished_at = ?3, added = ?4, updated = ?5, deleted = ?6, "
	"unchanged = ?7, errors = ?8, status = ?9, message = ?10 WHERE tenant_id = ?1 AND id = ?2";
static const char sql_sync_cycle_interrupted[] =
	"UPDATE sync_cycles SET status = 'interrupted', finished_at = ?3 WHERE tenant_id = ?1 "
	"AND connector = ?2 AND status = 'running'";
static const char sql_sync_cycle_list[] =
	"SELECT id, connector, kind, status, started_at, finished_at, added, updated, deleted, "
	"unchanged, errors, message FROM sync_cycles WHERE tenant_id = ?1 AND connector = ?2 "
	"ORDER BY id DESC LIMIT ?3";

int dir_sync_state_get(struct dir *d, const char *tenant_id, const char *connector,
		       char **cookie, int64_t *last_full_at, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_sync_state_get, err);
	int rc;

	*cookie = NULL;
	if (last_full_at != NULL)
		*last_full_at = 0;
	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, connector);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *c = sqlite3_column_text(st, 0);
		rc = 0;
		if (c != NULL && (*cookie = strdup((const char *)c)) == NULL)
			rc = err_set(err, ERR_INTERNAL, "out of memory");
		if (last_full_at != NULL)
			*last_full_at = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "connector '%.64s' has no sync state", connector);
	} else {
		rc = dir_fail(d, err, "read sync state");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_sync_state_set(struct dir *d, const char *tenant_id, const char *connector,
		       const char *cookie, int full, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_check_text("connector", connector, DIR_SYNC_CONNECTOR_MAX, 1, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_sync_state_set, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, connector);
	if (cookie != NULL)
		dir_bind_text(st, 3, cookie);
	sqlite3_bind_int(st, 4, full != 0);
	sqlite3_bind_int64(st, 5, dir_now(d));
	rc = dir_step_change(d, st, "write sync state", err);
	dir_stmt_done(st);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

int dir_sync_claim(struct dir *d, const char *tenant_id, const char *connector,
		   struct err *err)
{
	char other[DIR_SYNC_CONNECTOR_MAX] = "";
	sqlite3_stmt *st;
	int rc;

	if (dir_begin(d, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_sync_other, err)) == NULL) {
		dir_rollback(d);
		return err->code;
	}
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, connector);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		dir_col_text(st, 0, other, sizeof(other));
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : dir_fail(d, err, "read sync state");
	dir_stmt_done(st);
	if (rc == 0 && other[0] != '\0')
		rc = err_set(err, ERR_EXISTS,
			     "the tenant is synced by connector '%s' already: one connector per "
			     "tenant (a full sync deletes what it did not see); set connector = %s "
			     "or sync into another tenant",
			     other, other);
	if (rc == 0) {
		if ((st = dir_stmt(d, sql_sync_claim, err)) == NULL) {
			dir_rollback(d);
			return err->code;
		}
		dir_bind_text(st, 1, tenant_id);
		dir_bind_text(st, 2, connector);
		sqlite3_bind_int64(st, 3, dir_now(d));
		rc = dir_step_change(d, st, "claim the tenant", err);
		dir_stmt_done(st);
		rc = rc < 0 ? rc : 0;
	}
	if (rc != 0) {
		dir_rollback(d);
		return rc;
	}
	return dir_commit(d, err);
}

int dir_sync_cycle_start(struct dir *d, const char *tenant_id, struct dir_sync_cycle *c,
			 struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_check_text("connector", c->connector, sizeof(c->connector), 1, err) != 0 ||
	    dir_check_text("cycle kind", c->kind, sizeof(c->kind), 1, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_sync_cycle_insert, err)) == NULL)
		return err->code;
	c->started_at = dir_now(d);
	c->finished_at = 0;
	c->added = c->updated = c->deleted = c->unchanged = c->errors = 0;
	c->message[0] = '\0';
	snprintf(c->status, sizeof(c->status), "running");
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, c->connector);
	dir_bind_text(st, 3, c->kind);
	sqlite3_bind_int64(st, 4, c->started_at);
	rc = dir_step_change(d, st, "record sync cycle", err);
	dir_stmt_done(st);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	if (rc < 0)
		return rc;
	c->id = sqlite3_last_insert_rowid(d->db);
	if ((st = dir_stmt(d, sql_sync_cycle_prune, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, c->connector);
	rc = dir_step_change(d, st, "prune sync cycles", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}

int dir_sync_cycle_save(struct dir *d, const char *tenant_id, const struct dir_sync_cycle *c,
			struct err *err)
{
	sqlite3_stmt *st;
	char msg[DIR_TEXT_MAX];
	int rc;

	/* The message is ours to show, not to refuse: keep it printable. */
	snprintf(msg, sizeof(msg), "%s", c->message);
	if (strlen(msg) == sizeof(msg) - 1) {
		/* cut before the last, maybe partial, character */
		size_t n = sizeof(msg) - 2;
		while (n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80)
			n--;
		msg[n] = '\0';
	}
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (dir_check_text("cycle message", msg, sizeof(msg), 0, NULL) != 0)
		snprintf(msg, sizeof(msg), "(message not valid UTF-8)");
	if ((st = dir_stmt(d, sql_sync_cycle_save, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, c->id);
	if (c->finished_at != 0)
		sqlite3_bind_int64(st, 3, c->finished_at);
	sqlite3_bind_int64(st, 4, c->added);
	sqlite3_bind_int64(st, 5, c->updated);
	sqlite3_bind_int64(st, 6, c->deleted);
	sqlite3_bind_int64(st, 7, c->unchanged);
	sqlite3_bind_int64(st, 8, c->errors);
	dir_bind_text(st, 9, c->status);
	dir_bind_text(st, 10, msg);
	rc = dir_step_change(d, st, "record sync cycle", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no sync cycle %lld", (long long)c->id);
	return rc < 0 ? rc : 0;
}

int dir_sync_cycle_interrupted(struct dir *d, const char *tenant_id, const char *connector,
			       struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_sync_cycle_interrupted, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, connector);
	sqlite3_bind_int64(st, 3, dir_now(d));
	rc = dir_step_change(d, st, "record sync cycle", err);
	dir_stmt_done(st);
	return rc;
}

int dir_sync_cycle_list(struct dir *d, const char *tenant_id, const char *connector, int limit,
			int (*cb)(void *ctx, const struct dir_sync_cycle *c), void *ctx,
			struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_sync_cycle_list, err);
	struct dir_sync_cycle c;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, connector);
	sqlite3_bind_int(st, 3, limit > 0 ? limit : -1);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		c.id = sqlite3_column_int64(st, 0);
		dir_col_text(st, 1, c.connector, sizeof(c.connector));
		dir_col_text(st, 2, c.kind, sizeof(c.kind));
		dir_col_text(st, 3, c.status, sizeof(c.status));
		c.started_at = sqlite3_column_int64(st, 4);
		c.finished_at = sqlite3_column_int64(st, 5);
		c.added = sqlite3_column_int64(st, 6);
		c.updated = sqlite3_column_int64(st, 7);
		c.deleted = sqlite3_column_int64(st, 8);
		c.unchanged = sqlite3_column_int64(st, 9);
		c.errors = sqlite3_column_int64(st, 10);
		dir_col_text(st, 11, c.message, sizeof(c.message));
		stop = cb(ctx, &c);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list sync cycles");
	dir_stmt_done(st);
	return stop;
}

int dir_sync_bulk(struct dir *d, int on, struct err *err)
{
	if (sqlite3_get_autocommit(d->db) == 0)
		return err_set(err, ERR_INTERNAL, "bulk mode changes inside a transaction");
	return dir_exec(d, on ? "PRAGMA foreign_keys = OFF" : "PRAGMA foreign_keys = ON", err);
}

int dir_sync_bulk_check(struct dir *d, const char *tenant_id, struct err *err)
{
	struct dir_tenant t;
	int rc = dir_tenant_get(d, tenant_id, &t, err);

	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "the tenant was deleted during the sync");
	return rc;
}

int dir_sync_tune(struct dir *d, int cache_kib, struct err *err)
{
	char sql[160];

	snprintf(sql, sizeof(sql),
		 "PRAGMA cache_size = -%d; PRAGMA temp_store = MEMORY; PRAGMA synchronous = NORMAL",
		 cache_kib > 0 ? cache_kib : 2000);
	return dir_exec(d, sql, err);
}
