/*
 * dir_log: the tenant's audit log.
 *
 * Append-only through this interface.  The one rewrite is redaction: when
 * an object is purged, the summaries of the records about it are replaced,
 * because they may quote its name; the records themselves (who did what,
 * when, to which id) stay.
 */
#include "dir_internal.h"

#include <string.h>

static const char sql_audit_insert[] =
	"INSERT INTO audit_log (tenant_id, time, actor, action, target_type, target_id, summary, "
	"ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_audit_list[] =
	"SELECT id, time, actor, action, target_type, target_id, summary, ip FROM audit_log "
	"WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3";
static const char sql_audit_redact[] =
	"UPDATE audit_log SET summary = '(redacted: object purged)' WHERE tenant_id = ?1 AND "
	"target_id = ?2";

int dir_audit_append(struct dir *d, const char *tenant_id, struct dir_audit *a,
		     struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_check_text("actor", a->actor, sizeof(a->actor), 1, err) ||
	    dir_check_text("action", a->action, sizeof(a->action), 1, err) ||
	    dir_check_text("target type", a->target_type, sizeof(a->target_type), 0, err) ||
	    dir_check_text("target id", a->target_id, sizeof(a->target_id), 0, err) ||
	    dir_check_text("summary", a->summary, sizeof(a->summary), 0, err) ||
	    dir_check_text("ip", a->ip, sizeof(a->ip), 0, err))
		return err->code;
	if ((st = dir_stmt(d, sql_audit_insert, err)) == NULL)
		return err->code;
	a->time = dir_now(d);
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, a->time);
	dir_bind_text(st, 3, a->actor);
	dir_bind_text(st, 4, a->action);
	dir_bind_text(st, 5, a->target_type);
	dir_bind_text(st, 6, a->target_id);
	dir_bind_text(st, 7, a->summary);
	dir_bind_text(st, 8, a->ip);
	rc = dir_step_change(d, st, "append audit record", err);
	dir_stmt_done(st);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	if (rc < 0)
		return rc;
	a->id = sqlite3_last_insert_rowid(d->db);
	return 0;
}

int dir_audit_list(struct dir *d, const char *tenant_id, int64_t after_id, int limit,
		   int (*cb)(void *ctx, const struct dir_audit *a), void *ctx, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_audit_list, err);
	struct dir_audit a;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, after_id);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(st, 0);
		a.time = sqlite3_column_int64(st, 1);
		dir_col_text(st, 2, a.actor, sizeof(a.actor));
		dir_col_text(st, 3, a.action, sizeof(a.action));
		dir_col_text(st, 4, a.target_type, sizeof(a.target_type));
		dir_col_text(st, 5, a.target_id, sizeof(a.target_id));
		dir_col_text(st, 6, a.summary, sizeof(a.summary));
		dir_col_text(st, 7, a.ip, sizeof(a.ip));
		stop = cb(ctx, &a);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list audit log");
	dir_stmt_done(st);
	return stop;
}

int dir_audit_redact(struct dir *d, const char *tenant_id, const char *target_id,
		     struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_audit_redact, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, target_id);
	rc = dir_step_change(d, st, "redact audit log", err);
	dir_stmt_done(st);
	return rc < 0 ? rc : 0;
}
