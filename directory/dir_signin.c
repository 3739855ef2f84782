/*
 * dir_signin: the tenant's sign-in log, one row per attempt.
 */
#include "dir_internal.h"

#include <string.h>

static const char sql_signin_insert[] =
	"INSERT INTO signins (tenant_id, time, user_id, username, app_id, step, result, reason, "
	"ip, user_agent, country, city, lat, lon, factors, risk, detections) VALUES (?1, ?2, ?3, "
	"?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
static const char sql_signin_list[] =
	"SELECT id, time, user_id, username, app_id, step, result, reason, ip, user_agent, "
	"country, city, lat, lon, factors, risk, detections FROM signins WHERE tenant_id = ?1 AND "
	"(?2 = 0 OR time >= ?2) AND (?3 = 0 OR time < ?3) AND (?4 IS NULL OR user_id = ?4) AND "
	"(?5 IS NULL OR app_id = ?5) AND (?6 IS NULL OR result = ?6) AND (?7 IS NULL OR ip = ?7) "
	"AND (?8 = 0 OR id < ?8) ORDER BY id DESC LIMIT ?9";

int dir_signin_append(struct dir *d, const char *tenant_id, struct dir_signin *s,
		      struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	/* The name as typed is hostile input: keep it printable and bounded. */
	if (dir_check_text("username", s->username, sizeof(s->username), 0, err) ||
	    dir_check_text("user agent", s->user_agent, sizeof(s->user_agent), 0, err) ||
	    dir_check_text("reason", s->reason, sizeof(s->reason), 0, err) ||
	    dir_check_text("ip", s->ip, sizeof(s->ip), 0, err))
		return err->code;
	if ((st = dir_stmt(d, sql_signin_insert, err)) == NULL)
		return err->code;
	if (s->time == 0)
		s->time = dir_now(d);
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, s->time);
	dir_bind_text_or_null(st, 3, s->user_id);
	dir_bind_text(st, 4, s->username);
	dir_bind_text_or_null(st, 5, s->app_id);
	dir_bind_text(st, 6, s->step);
	dir_bind_text(st, 7, s->result);
	dir_bind_text(st, 8, s->reason);
	dir_bind_text(st, 9, s->ip);
	dir_bind_text(st, 10, s->user_agent);
	dir_bind_text(st, 11, s->country);
	dir_bind_text(st, 12, s->city);
	if (s->has_geo) {
		sqlite3_bind_double(st, 13, s->lat);
		sqlite3_bind_double(st, 14, s->lon);
	}
	dir_bind_text(st, 15, s->factors);
	dir_bind_text(st, 16, s->risk[0] ? s->risk : "none");
	dir_bind_text(st, 17, s->detections[0] ? s->detections : "[]");
	rc = dir_step_change(d, st, "append sign-in", err);
	dir_stmt_done(st);
	if (rc < 0)
		return rc;
	s->id = sqlite3_last_insert_rowid(d->db);
	return 0;
}

int dir_signin_list(struct dir *d, const char *tenant_id, const struct dir_signin_query *q,
		    int (*cb)(void *ctx, const struct dir_signin *s), void *ctx, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_signin_list, err);
	struct dir_signin s;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, q->from);
	sqlite3_bind_int64(st, 3, q->to);
	if (q->user_id)
		dir_bind_text(st, 4, q->user_id);
	if (q->app_id)
		dir_bind_text(st, 5, q->app_id);
	if (q->result)
		dir_bind_text(st, 6, q->result);
	if (q->ip)
		dir_bind_text(st, 7, q->ip);
	sqlite3_bind_int64(st, 8, q->before_id);
	sqlite3_bind_int64(st, 9, q->limit > 0 ? q->limit : 100);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&s, 0, sizeof(s));
		s.id = sqlite3_column_int64(st, 0);
		s.time = sqlite3_column_int64(st, 1);
		dir_col_text(st, 2, s.user_id, sizeof(s.user_id));
		dir_col_text(st, 3, s.username, sizeof(s.username));
		dir_col_text(st, 4, s.app_id, sizeof(s.app_id));
		dir_col_text(st, 5, s.step, sizeof(s.step));
		dir_col_text(st, 6, s.result, sizeof(s.result));
		dir_col_text(st, 7, s.reason, sizeof(s.reason));
		dir_col_text(st, 8, s.ip, sizeof(s.ip));
		dir_col_text(st, 9, s.user_agent, sizeof(s.user_agent));
		dir_col_text(st, 10, s.country, sizeof(s.country));
		dir_col_text(st, 11, s.city, sizeof(s.city));
		s.has_geo = sqlite3_column_type(st, 12) != SQLITE_NULL;
		s.lat = sqlite3_column_double(st, 12);
		s.lon = sqlite3_column_double(st, 13);
		dir_col_text(st, 14, s.factors, sizeof(s.factors));
		dir_col_text(st, 15, s.risk, sizeof(s.risk));
		dir_col_text(st, 16, s.detections, sizeof(s.detections));
		stop = cb(ctx, &s);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list sign-ins");
	dir_stmt_done(st);
	return stop;
}
