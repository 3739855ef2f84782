/*
 * dir_risk: what the sign-in risk engine asks of the store and keeps in it.
 *
 * The questions the detections ask in the sign-in path (how many names
 * failed from this address lately, where did this user last sign in from
 * safely, has this user used this device before) are each one statement
 * over an index made for it (migration 6), so their cost does not grow with
 * the size of the log.  The reports' searches pick, by their filters, the
 * statement whose index fits; a filter inside "?N IS NULL OR ..." would
 * keep SQLite from using any index but the first.
 */
#include "dir_internal.h"

#include <stdio.h>
#include <string.h>

#define SIGNIN_COLS                                                                                \
	"id, time, user_id, username, app_id, step, result, reason, ip, user_agent, country, "     \
	"city, lat, lon, factors, risk, detections"

/* The filters every search shares, after the index's own terms. */
#define SIGNIN_FILTERS                                                                             \
	" AND time >= ?2 AND time < ?3 AND (?4 IS NULL OR user_id = ?4) AND (?5 IS NULL OR "       \
	"app_id = ?5) AND (?6 IS NULL OR result = ?6) AND (?7 IS NULL OR ip = ?7) AND (?8 IS "     \
	"NULL OR step = ?8) AND (?9 = 0 OR (CASE risk WHEN 'low' THEN 1 WHEN 'medium' THEN 2 "     \
	"WHEN 'high' THEN 3 ELSE 0 END) >= ?9) AND time <= ?10 AND (time < ?10 OR id < ?11) "      \
	"ORDER BY time DESC, id DESC LIMIT ?12"

static const char sql_search_time[] = "SELECT " SIGNIN_COLS " FROM signins INDEXED BY "
                                      "signins_time WHERE tenant_id = ?1" SIGNIN_FILTERS;
static const char sql_search_user[] =
        "SELECT " SIGNIN_COLS " FROM signins INDEXED BY "
        "signins_user WHERE tenant_id = ?1 AND user_id = ?4" SIGNIN_FILTERS;
static const char sql_search_ip[] = "SELECT " SIGNIN_COLS " FROM signins INDEXED BY signins_ip "
                                    "WHERE tenant_id = ?1 AND ip = ?7" SIGNIN_FILTERS;
static const char sql_search_risky[] =
        "SELECT " SIGNIN_COLS " FROM signins INDEXED BY "
        "signins_risky WHERE tenant_id = ?1 AND risk <> 'none'" SIGNIN_FILTERS;

static const char sql_counts[] =
        "SELECT (time / ?4) * ?4 AS b, result, count(*) FROM signins WHERE tenant_id = ?1 AND "
        "time >= ?2 AND time < ?3 GROUP BY b, result ORDER BY b, result";
static const char sql_top_reason[] =
        "SELECT reason, count(*) AS n, 0 FROM signins WHERE tenant_id = ?1 AND time >= ?2 AND "
        "time < ?3 AND result <> 'success' GROUP BY reason ORDER BY n DESC, reason LIMIT ?4";
static const char sql_top_source[] =
        "SELECT ip, count(*) AS n, count(DISTINCT idp_fold(username)) FROM signins WHERE "
        "tenant_id = ?1 AND time >= ?2 AND time < ?3 AND result <> 'success' AND ip <> '' "
        "GROUP BY ip ORDER BY n DESC, ip LIMIT ?4";
static const char sql_top_detection[] =
        "SELECT json_extract(j.value, '$.name') AS name, count(*) AS n, 0 FROM signins INDEXED BY "
        "signins_risky, json_each(signins.detections) AS j WHERE tenant_id = ?1 AND risk <> "
        "'none' AND time >= ?2 AND time < ?3 AND json_valid(signins.detections) GROUP BY name "
        "ORDER BY n DESC, name LIMIT ?4";

static const char sql_source_stats[] =
        "SELECT count(DISTINCT CASE WHEN result <> 'success' THEN k END), count(DISTINCT CASE "
        "WHEN result = 'success' THEN u END) FROM (SELECT idp_fold(username) AS k, user_id AS u, "
        "result FROM signins INDEXED BY signins_ip WHERE tenant_id = ?1 AND ip = ?2 AND time >= "
        "?3 AND step = 'password' UNION ALL SELECT idp_fold(?4), NULL, 'failure' WHERE ?4 IS NOT "
        "NULL)";
static const char sql_last_trusted[] =
        "SELECT " SIGNIN_COLS " FROM signins INDEXED BY signins_trusted WHERE tenant_id = ?1 AND "
        "user_id = ?2 AND time < ?3 AND result = 'success' AND step IN ('password', 'sso', 'mfa', "
        "'recovery') AND risk IN ('none', 'low') ORDER BY time DESC, id DESC LIMIT 1";
static const char sql_count_steps[] =
        "SELECT count(*) FROM signins INDEXED BY signins_user WHERE tenant_id = ?1 AND user_id = "
        "?2 AND time >= ?3 AND instr(' ' || ?4 || ' ', ' ' || step || ' ') > 0 AND (CASE WHEN ?5 "
        "IS NULL THEN result <> 'success' ELSE result = ?5 END)";
static const char sql_purge[] =
        "DELETE FROM signins WHERE id IN (SELECT id FROM signins WHERE time < ?1 ORDER BY id "
        "LIMIT ?2)";

#define LOCKOUT_COLS                                                                               \
	"username, failures, window_start, locked_at, locked_until, last_ip, updated_at"

/*
 * One statement decides everything, so two nodes counting at once cannot
 * both miss the threshold.  A failure while locked changes nothing; one
 * after the window (or after a lock ended) starts a new window at 1.
 */
static const char sql_lockout_fail[] =
        "INSERT INTO risk_lockouts (tenant_id, name_key, username, failures, window_start, "
        "locked_at, locked_until, last_ip, updated_at) VALUES (?1, ?2, ?3, 1, ?4, CASE WHEN ?5 <= "
        "1 THEN ?4 ELSE 0 END, CASE WHEN ?5 <= 1 THEN ?4 + ?7 ELSE 0 END, ?8, ?4) "
        "ON CONFLICT (tenant_id, name_key) DO UPDATE SET "
        "failures = CASE WHEN locked_until > ?4 THEN failures WHEN locked_until > 0 OR "
        "window_start + ?6 < ?4 THEN 1 ELSE failures + 1 END, "
        "window_start = CASE WHEN locked_until > ?4 THEN window_start WHEN locked_until > 0 OR "
        "window_start + ?6 < ?4 THEN ?4 ELSE window_start END, "
        "locked_at = CASE WHEN locked_until > ?4 THEN locked_at WHEN locked_until = 0 AND "
        "window_start + ?6 >= ?4 AND failures + 1 >= ?5 THEN ?4 WHEN ?5 <= 1 THEN ?4 ELSE 0 END, "
        "locked_until = CASE WHEN locked_until > ?4 THEN locked_until WHEN locked_until = 0 AND "
        "window_start + ?6 >= ?4 AND failures + 1 >= ?5 THEN ?4 + ?7 WHEN ?5 <= 1 THEN ?4 + ?7 "
        "ELSE 0 END, "
        "username = CASE WHEN locked_until > ?4 THEN username ELSE excluded.username END, "
        "last_ip = CASE WHEN locked_until > ?4 THEN last_ip ELSE excluded.last_ip END, "
        "updated_at = ?4";
static const char sql_lockout_get[] =
        "SELECT " LOCKOUT_COLS " FROM risk_lockouts WHERE tenant_id = ?1 AND name_key = ?2";
static const char sql_lockout_clear[] =
        "DELETE FROM risk_lockouts WHERE tenant_id = ?1 AND name_key = ?2";
static const char sql_lockout_list[] =
        "SELECT " LOCKOUT_COLS " FROM risk_lockouts WHERE tenant_id = ?1 AND locked_until > ?2 "
        "ORDER BY locked_at DESC";
static const char sql_lockout_expire[] =
        "DELETE FROM risk_lockouts WHERE locked_until <= ?1 AND (locked_until > 0 OR "
        "window_start < ?1 - 86400)";

static const char sql_profile_seen[] =
        "SELECT seen FROM risk_profiles WHERE tenant_id = ?1 AND user_id = ?2 AND kind = ?3 AND "
        "value = ?4";
static const char sql_profile_learn[] =
        "INSERT INTO risk_profiles (tenant_id, user_id, kind, value, first_seen, last_seen, seen) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1) ON CONFLICT DO UPDATE SET seen = seen + 1, "
        "last_seen = max(last_seen, excluded.last_seen)";
static const char sql_profile_expire[] = "DELETE FROM risk_profiles WHERE last_seen < ?1";

#define RISKY_COLS                                                                                 \
	"r.user_id, coalesce(u.upn, ''), r.level, r.state, r.detections, r.signin_id, "            \
	"r.first_at, "                                                                             \
	"r.last_at, r.updated_at, r.updated_by"

static const char sql_risky_raise[] =
        "INSERT INTO risky_users (tenant_id, user_id, level, state, detections, signin_id, "
        "first_at, last_at, updated_at) VALUES (?1, ?2, ?3, 'at_risk', ?4, ?5, ?6, ?6, ?6) "
        "ON CONFLICT DO UPDATE SET "
        "level = CASE WHEN state IN ('dismissed', 'remediated') OR (CASE excluded.level "
        "WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) > (CASE level WHEN 'high' THEN 3 "
        "WHEN 'medium' THEN 2 ELSE 1 END) THEN excluded.level ELSE level END, "
        "state = CASE WHEN state IN ('dismissed', 'remediated') THEN 'at_risk' ELSE state END, "
        "first_at = CASE WHEN state IN ('dismissed', 'remediated') THEN excluded.first_at ELSE "
        "first_at END, "
        "detections = excluded.detections, signin_id = excluded.signin_id, "
        "last_at = excluded.last_at, updated_at = excluded.updated_at";
static const char sql_risky_get[] =
        "SELECT " RISKY_COLS " FROM risky_users r LEFT JOIN users u ON u.tenant_id = r.tenant_id "
        "AND u.id = r.user_id WHERE r.tenant_id = ?1 AND r.user_id = ?2";
static const char sql_risky_state[] =
        "UPDATE risky_users SET state = ?3, updated_by = ?4, updated_at = ?5 WHERE tenant_id = ?1 "
        "AND user_id = ?2";
static const char sql_risky_list[] =
        "SELECT " RISKY_COLS " FROM risky_users r LEFT JOIN users u ON u.tenant_id = r.tenant_id "
        "AND u.id = r.user_id WHERE r.tenant_id = ?1 AND (?2 IS NULL OR r.state = ?2) ORDER BY "
        "r.last_at DESC, r.user_id";

static const char sql_revoke_families[] =
        "INSERT INTO revoked_tokens (tenant_id, kind, value, expires_at) SELECT DISTINCT ?1, "
        "'grant', family_id, ?3 FROM (SELECT family_id FROM refresh_tokens WHERE tenant_id = ?1 "
        "AND user_id = ?2 UNION SELECT family_id FROM auth_codes WHERE tenant_id = ?1 AND "
        "user_id = ?2) WHERE true ON CONFLICT DO UPDATE SET expires_at = max(expires_at, "
        "excluded.expires_at)";
static const char sql_revoke_refresh[] =
        "UPDATE refresh_tokens SET revoked_at = ?3 WHERE tenant_id = ?1 AND user_id = ?2 AND "
        "revoked_at IS NULL";
static const char sql_revoke_sessions[] =
        "DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2";

static const char sql_stepup_set[] =
        "INSERT INTO risk_stepups (session_hash, tenant_id, level, created_at) SELECT ?2, ?1, ?3, "
        "?4 FROM sessions WHERE tenant_id = ?1 AND id_hash = ?2 ON CONFLICT DO UPDATE SET level = "
        "excluded.level, created_at = excluded.created_at";
static const char sql_stepup_get[] =
        "SELECT level FROM risk_stepups WHERE tenant_id = ?1 AND session_hash = ?2";

static const char sql_policy_get[] = "SELECT mfa_at, block_at, updated_at, updated_by FROM "
                                     "risk_policies WHERE tenant_id = ?1";
static const char sql_policy_put[] =
        "INSERT INTO risk_policies (tenant_id, mfa_at, block_at, updated_at, updated_by) VALUES "
        "(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET mfa_at = excluded.mfa_at, block_at = "
        "excluded.block_at, updated_at = excluded.updated_at, updated_by = excluded.updated_by";
static const char sql_policy_delete[] = "DELETE FROM risk_policies WHERE tenant_id = ?1";

static const char *const dir_risk_levels[] = {"none", "low", "medium", "high", "never"};
static const char *const dir_profile_kinds[] = {"signin", "country", "device", "network"};

const char *dir_risk_level_name(int level)
{
	if (level < 0 || level > DIR_RISK_NEVER)
		return "none";
	return dir_risk_levels[level];
}

int dir_risk_level_parse(const char *s)
{
	for (int i = 0; s != NULL && i <= DIR_RISK_NEVER; i++)
		if (strcmp(s, dir_risk_levels[i]) == 0)
			return i;
	return -1;
}

static void dir_signin_row(sqlite3_stmt *st, struct dir_signin *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(st, 0);
	s->time = sqlite3_column_int64(st, 1);
	dir_col_text(st, 2, s->user_id, sizeof(s->user_id));
	dir_col_text(st, 3, s->username, sizeof(s->username));
	dir_col_text(st, 4, s->app_id, sizeof(s->app_id));
	dir_col_text(st, 5, s->step, sizeof(s->step));
	dir_col_text(st, 6, s->result, sizeof(s->result));
	dir_col_text(st, 7, s->reason, sizeof(s->reason));
	dir_col_text(st, 8, s->ip, sizeof(s->ip));
	dir_col_text(st, 9, s->user_agent, sizeof(s->user_agent));
	dir_col_text(st, 10, s->country, sizeof(s->country));
	dir_col_text(st, 11, s->city, sizeof(s->city));
	s->has_geo = sqlite3_column_type(st, 12) != SQLITE_NULL;
	s->lat = sqlite3_column_double(st, 12);
	s->lon = sqlite3_column_double(st, 13);
	dir_col_text(st, 14, s->factors, sizeof(s->factors));
	dir_col_text(st, 15, s->risk, sizeof(s->risk));
	dir_col_text(st, 16, s->detections, sizeof(s->detections));
}

/* Walk st's rows into cb; the statement is done afterwards. */
static int dir_signin_walk(struct dir *d, sqlite3_stmt *st,
                           int (*cb)(void *ctx, const struct dir_signin *s), void *ctx,
                           const char *what, struct err *err)
{
	struct dir_signin s;
	int rc = SQLITE_DONE, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_signin_row(st, &s);
		stop = cb(ctx, &s);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, what);
	dir_stmt_done(st);
	return stop;
}

int dir_signin_search(struct dir *d, const char *tenant_id, const struct dir_signin_search *q,
                      int (*cb)(void *ctx, const struct dir_signin *s), void *ctx, struct err *err)
{
	const char *sql = sql_search_time;
	sqlite3_stmt *st;

	if (q->limit < 0 || q->limit > 1000 || q->min_risk < 0 || q->min_risk > DIR_RISK_HIGH)
		return err_set(err, ERR_INVALID, "limit 1..1000, risk low..high");
	/* the most selective index the filters allow */
	if (q->user_id != NULL)
		sql = sql_search_user;
	else if (q->ip != NULL)
		sql = sql_search_ip;
	else if (q->min_risk > 0)
		sql = sql_search_risky;
	if ((st = dir_stmt(d, sql, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, q->from);
	sqlite3_bind_int64(st, 3, q->to > 0 ? q->to : INT64_MAX);
	if (q->user_id != NULL)
		dir_bind_text(st, 4, q->user_id);
	if (q->app_id != NULL)
		dir_bind_text(st, 5, q->app_id);
	if (q->result != NULL)
		dir_bind_text(st, 6, q->result);
	if (q->ip != NULL)
		dir_bind_text(st, 7, q->ip);
	if (q->step != NULL)
		dir_bind_text(st, 8, q->step);
	sqlite3_bind_int(st, 9, q->min_risk);
	sqlite3_bind_int64(st, 10, q->before_time > 0 ? q->before_time : INT64_MAX);
	sqlite3_bind_int64(st, 11, q->before_time > 0 ? q->before_id : INT64_MAX);
	sqlite3_bind_int(st, 12, q->limit > 0 ? q->limit : 100);
	return dir_signin_walk(d, st, cb, ctx, "search sign-ins", err);
}

int dir_signin_counts(struct dir *d, const char *tenant_id, int64_t from, int64_t to,
                      int64_t bucket,
                      int (*cb)(void *ctx, int64_t start, const char *result, int64_t n), void *ctx,
                      struct err *err)
{
	sqlite3_stmt *st;
	char result[16];
	int rc = SQLITE_DONE, stop = 0;

	if (bucket < 1 || to <= from)
		return err_set(err, ERR_INVALID, "an interval of at least a second over a range");
	if ((st = dir_stmt(d, sql_counts, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, bucket);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_col_text(st, 1, result, sizeof(result));
		stop = cb(ctx, sqlite3_column_int64(st, 0), result, sqlite3_column_int64(st, 2));
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "count sign-ins");
	dir_stmt_done(st);
	return stop;
}

int dir_signin_top(struct dir *d, const char *tenant_id, int64_t from, int64_t to,
                   enum dir_signin_top what, int limit,
                   int (*cb)(void *ctx, const char *value, int64_t n, int64_t names), void *ctx,
                   struct err *err)
{
	static const char *const sqls[] = {sql_top_reason, sql_top_source, sql_top_detection};
	sqlite3_stmt *st;
	char value[DIR_UPN_MAX];
	int rc = SQLITE_DONE, stop = 0;

	if ((unsigned)what > DIR_TOP_DETECTION || limit < 1 || limit > 1000)
		return err_set(err, ERR_INVALID, "unknown report or limit out of 1..1000");
	if ((st = dir_stmt(d, sqls[what], err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to > 0 ? to : INT64_MAX);
	sqlite3_bind_int(st, 4, limit);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_col_text(st, 0, value, sizeof(value));
		stop = cb(ctx, value, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "sign-in report");
	dir_stmt_done(st);
	return stop;
}

int dir_signin_source_stats(struct dir *d, const char *tenant_id, const char *ip, int64_t since,
                            const char *name, int *failed_names, int *ok_users, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_source_stats, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, ip);
	sqlite3_bind_int64(st, 3, since);
	if (name != NULL)
		dir_bind_text(st, 4, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*failed_names = sqlite3_column_int(st, 0);
		*ok_users = sqlite3_column_int(st, 1);
		rc = 0;
	} else {
		rc = dir_fail(d, err, "read an address's sign-ins");
	}
	dir_stmt_done(st);
	return rc;
}

/* A statement that yields at most one sign-in row into out. */
static int dir_signin_one(struct dir *d, sqlite3_stmt *st, struct dir_signin *out, const char *what,
                          struct err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		dir_signin_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no such sign-in");
	} else {
		rc = dir_fail(d, err, what);
	}
	dir_stmt_done(st);
	return rc;
}

int dir_signin_last_trusted(struct dir *d, const char *tenant_id, const char *user_id,
                            int64_t before, struct dir_signin *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_last_trusted, err);

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, before);
	return dir_signin_one(d, st, out, "read the last good sign-in", err);
}

int dir_signin_count(struct dir *d, const char *tenant_id, const char *user_id, const char *steps,
                     const char *result, int64_t since, int *n, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_count_steps, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, since);
	dir_bind_text(st, 4, steps);
	if (result != NULL)
		dir_bind_text(st, 5, result);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		rc = dir_fail(d, err, "count a user's sign-ins");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_signin_purge(struct dir *d, int64_t before, int max_rows, int64_t *deleted, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_purge, err);
	int rc;

	*deleted = 0;
	if (st == NULL)
		return err->code;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, max_rows > 0 ? max_rows : 10000);
	rc = dir_step_change(d, st, "purge old sign-ins", err);
	dir_stmt_done(st);
	if (rc < 0)
		return rc;
	*deleted = rc;
	return 0;
}

int dir_signin_bulk(struct dir *d, int on, struct err *err)
{
	return dir_exec(d, on ? "PRAGMA cache_size = -2097152" : "PRAGMA cache_size = -2000", err);
}

/* ---- lockouts ---------------------------------------------------------- */

static void dir_lockout_row(sqlite3_stmt *st, struct dir_lockout *l)
{
	memset(l, 0, sizeof(*l));
	dir_col_text(st, 0, l->username, sizeof(l->username));
	l->failures = sqlite3_column_int(st, 1);
	l->window_start = sqlite3_column_int64(st, 2);
	l->locked_at = sqlite3_column_int64(st, 3);
	l->locked_until = sqlite3_column_int64(st, 4);
	dir_col_text(st, 5, l->last_ip, sizeof(l->last_ip));
	l->updated_at = sqlite3_column_int64(st, 6);
}

static int dir_lockout_key(const char *username, char *key, size_t cap, struct err *err)
{
	if (dir_check_text("name", username, DIR_UPN_MAX, 1, err) != 0)
		return err->code;
	return dir_fold_key("name", username, key, cap, err);
}

int dir_lockout_get(struct dir *d, const char *tenant_id, const char *username,
                    struct dir_lockout *out, struct err *err)
{
	char key[DIR_UPN_MAX * 2];
	sqlite3_stmt *st;
	int rc;

	if (dir_lockout_key(username, key, sizeof(key), err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_lockout_get, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_lockout_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "no failures recorded for this name");
	} else {
		rc = dir_fail(d, err, "read lockout");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_lockout_fail(struct dir *d, const char *tenant_id, const char *username, const char *ip,
                     int64_t now, const struct dir_lockout_limits *lim, struct dir_lockout *out,
                     int *locked_now, struct err *err)
{
	struct dir_lockout before, after;
	char key[DIR_UPN_MAX * 2];
	sqlite3_stmt *st;
	int tx, rc, had;

	if (lim->max_failures < 1 || lim->window < 1 || lim->duration < 1)
		return err_set(err, ERR_INVALID, "lockout limits must be positive");
	if (dir_lockout_key(username, key, sizeof(key), err) != 0 ||
	    dir_check_text("ip", ip, 64, 0, err) != 0)
		return err->code;
	if ((tx = dir_tx_begin(d, err)) < 0)
		return tx;
	rc = dir_lockout_get(d, tenant_id, username, &before, err);
	had = rc == 0;
	if (rc == ERR_NOT_FOUND)
		rc = 0;
	if (rc == 0 && (st = dir_stmt(d, sql_lockout_fail, err)) == NULL)
		rc = err->code;
	if (rc == 0) {
		dir_bind_text(st, 1, tenant_id);
		dir_bind_text(st, 2, key);
		dir_bind_text(st, 3, username);
		sqlite3_bind_int64(st, 4, now);
		sqlite3_bind_int(st, 5, lim->max_failures);
		sqlite3_bind_int64(st, 6, lim->window);
		sqlite3_bind_int64(st, 7, lim->duration);
		dir_bind_text(st, 8, ip);
		rc = dir_step_change(d, st, "count a failed sign-in", err);
		dir_stmt_done(st);
		if (rc == ERR_NOT_FOUND)
			rc = err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
		if (rc > 0)
			rc = 0;
	}
	if (rc == 0)
		rc = dir_lockout_get(d, tenant_id, username, &after, err);
	if (dir_tx_end(d, tx, rc == 0, err) != 0)
		return err->code;
	if (rc != 0)
		return rc;
	if (locked_now != NULL)
		*locked_now = after.locked_until > now && !(had && before.locked_until > now);
	if (out != NULL)
		*out = after;
	return 0;
}

int dir_lockout_clear(struct dir *d, const char *tenant_id, const char *username, struct err *err)
{
	char key[DIR_UPN_MAX * 2];
	sqlite3_stmt *st;
	int rc;

	if (dir_lockout_key(username, key, sizeof(key), err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_lockout_clear, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, key);
	rc = dir_step_change(d, st, "clear lockout", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no failures recorded for this name");
	return rc < 0 ? rc : 0;
}

int dir_lockout_list(struct dir *d, const char *tenant_id, int64_t now,
                     int (*cb)(void *ctx, const struct dir_lockout *l), void *ctx, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_lockout_list, err);
	struct dir_lockout l;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	sqlite3_bind_int64(st, 2, now);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_lockout_row(st, &l);
		stop = cb(ctx, &l);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list lockouts");
	dir_stmt_done(st);
	return stop;
}

/* ---- familiar properties ----------------------------------------------- */

static int dir_profile_check(enum dir_profile_kind kind, const char *value, struct err *err)
{
	if ((unsigned)kind > DIR_PROFILE_NETWORK)
		return err_set(err, ERR_INVALID, "unknown profile kind %d", (int)kind);
	return dir_check_text("profile value", value, 128, 0, err);
}

int dir_profile_seen(struct dir *d, const char *tenant_id, const char *user_id,
                     enum dir_profile_kind kind, const char *value, int64_t *seen, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	*seen = 0;
	if (dir_profile_check(kind, value, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_profile_seen, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	dir_bind_text(st, 3, dir_profile_kinds[kind]);
	dir_bind_text(st, 4, value);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seen = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : dir_fail(d, err, "read profile");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_profile_learn(struct dir *d, const char *tenant_id, const char *user_id,
                      enum dir_profile_kind kind, const char *value, int64_t now, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_profile_check(kind, value, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_profile_learn, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	dir_bind_text(st, 3, dir_profile_kinds[kind]);
	dir_bind_text(st, 4, value);
	sqlite3_bind_int64(st, 5, now);
	rc = dir_step_change(d, st, "learn profile", err);
	dir_stmt_done(st);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	return rc < 0 ? rc : 0;
}

/* ---- risky users ------------------------------------------------------- */

static void dir_risky_row(sqlite3_stmt *st, struct dir_risky_user *u)
{
	char level[16];

	memset(u, 0, sizeof(*u));
	dir_col_text(st, 0, u->user_id, sizeof(u->user_id));
	dir_col_text(st, 1, u->upn, sizeof(u->upn));
	dir_col_text(st, 2, level, sizeof(level));
	u->level = dir_risk_level_parse(level);
	dir_col_text(st, 3, u->state, sizeof(u->state));
	dir_col_text(st, 4, u->detections, sizeof(u->detections));
	u->signin_id = sqlite3_column_int64(st, 5);
	u->first_at = sqlite3_column_int64(st, 6);
	u->last_at = sqlite3_column_int64(st, 7);
	u->updated_at = sqlite3_column_int64(st, 8);
	dir_col_text(st, 9, u->updated_by, sizeof(u->updated_by));
}

int dir_risky_user_raise(struct dir *d, const char *tenant_id, const char *user_id, int level,
                         const char *detections, int64_t signin_id, int64_t now, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (level < DIR_RISK_LOW || level > DIR_RISK_HIGH)
		return err_set(err, ERR_INVALID, "a risky user's level is low, medium or high");
	if (dir_check_text("detections", detections, DIR_TEXT_MAX, 1, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_risky_raise, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	dir_bind_text(st, 3, dir_risk_level_name(level));
	dir_bind_text(st, 4, detections);
	sqlite3_bind_int64(st, 5, signin_id);
	sqlite3_bind_int64(st, 6, now);
	rc = dir_step_change(d, st, "flag risky user", err);
	dir_stmt_done(st);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	return rc < 0 ? rc : 0;
}

int dir_risky_user_get(struct dir *d, const char *tenant_id, const char *user_id,
                       struct dir_risky_user *out, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_risky_get, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_risky_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "the user is not flagged risky");
	} else {
		rc = dir_fail(d, err, "read risky user");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_risky_state_valid(const char *state)
{
	static const char *const states[] = {"at_risk", "dismissed", "confirmed", "remediated"};

	for (size_t i = 0; state != NULL && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i]) == 0)
			return 1;
	return 0;
}

int dir_risky_user_set_state(struct dir *d, const char *tenant_id, const char *user_id,
                             const char *state, const char *by, int64_t now, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!dir_risky_state_valid(state))
		return err_set(err, ERR_INVALID,
		               "state is at_risk, dismissed, confirmed or remediated");
	if (dir_check_text("actor", by, DIR_UPN_MAX, 0, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_risky_state, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	dir_bind_text(st, 3, state);
	dir_bind_text(st, 4, by);
	sqlite3_bind_int64(st, 5, now);
	rc = dir_step_change(d, st, "change risky user", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "the user is not flagged risky");
	return rc < 0 ? rc : 0;
}

int dir_risky_user_list(struct dir *d, const char *tenant_id, const char *state,
                        int (*cb)(void *ctx, const struct dir_risky_user *u), void *ctx,
                        struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_risky_list, err);
	struct dir_risky_user u;
	int rc = SQLITE_DONE, stop = 0;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	if (state != NULL)
		dir_bind_text(st, 2, state);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		dir_risky_row(st, &u);
		stop = cb(ctx, &u);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = dir_fail(d, err, "list risky users");
	dir_stmt_done(st);
	return stop;
}

/* Run one of the revocation statements for the user. */
static int dir_revoke_run(struct dir *d, const char *sql, const char *tenant_id,
                          const char *user_id, int64_t arg, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, user_id);
	if (sql != sql_revoke_sessions)
		sqlite3_bind_int64(st, 3, arg);
	rc = dir_step_change(d, st, "revoke a user's tokens", err);
	dir_stmt_done(st);
	return rc;
}

int dir_user_revoke_all(struct dir *d, const char *tenant_id, const char *user_id, int64_t until,
                        int *grants, struct err *err)
{
	int tx = dir_tx_begin(d, err), n = 0, rc;

	if (tx < 0)
		return tx;
	/* the grants first: they are found through the refresh tokens and codes */
	rc = n = dir_revoke_run(d, sql_revoke_families, tenant_id, user_id, until, err);
	if (rc >= 0)
		rc = dir_revoke_run(d, sql_revoke_refresh, tenant_id, user_id, dir_now(d), err);
	if (rc >= 0)
		rc = dir_revoke_run(d, sql_revoke_sessions, tenant_id, user_id, 0, err);
	if (dir_tx_end(d, tx, rc >= 0, err) != 0)
		return err->code;
	if (rc < 0)
		return rc;
	if (grants != NULL)
		*grants = n;
	return 0;
}

/* ---- step-up marks and policy ----------------------------------------- */

int dir_session_stepup_set(struct dir *d, const char *tenant_id, const char *session_hash,
                           int level, int64_t now, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (level < DIR_RISK_LOW || level > DIR_RISK_HIGH)
		return err_set(err, ERR_INVALID, "a step-up level is low, medium or high");
	if ((st = dir_stmt(d, sql_stepup_set, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, session_hash);
	dir_bind_text(st, 3, dir_risk_level_name(level));
	sqlite3_bind_int64(st, 4, now);
	rc = dir_step_change(d, st, "mark session", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "no such session");
	return rc < 0 ? rc : 0;
}

int dir_session_stepup_get(struct dir *d, const char *tenant_id, const char *session_hash,
                           int *level, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_stepup_get, err);
	char word[16];
	int rc;

	*level = 0;
	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, session_hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dir_col_text(st, 0, word, sizeof(word));
		*level = dir_risk_level_parse(word);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : dir_fail(d, err, "read session mark");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_risk_policy_get(struct dir *d, const char *tenant_id, struct dir_risk_policy *out,
                        struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_policy_get, err);
	char w[16];
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		dir_col_text(st, 0, w, sizeof(w));
		out->mfa_at = dir_risk_level_parse(w);
		dir_col_text(st, 1, w, sizeof(w));
		out->block_at = dir_risk_level_parse(w);
		out->updated_at = sqlite3_column_int64(st, 2);
		dir_col_text(st, 3, out->updated_by, sizeof(out->updated_by));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, ERR_NOT_FOUND, "the tenant has no risk policy of its own");
	} else {
		rc = dir_fail(d, err, "read risk policy");
	}
	dir_stmt_done(st);
	return rc;
}

int dir_risk_policy_put(struct dir *d, const char *tenant_id, const struct dir_risk_policy *p,
                        struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (p->mfa_at < DIR_RISK_LOW || p->mfa_at > DIR_RISK_NEVER || p->block_at < DIR_RISK_LOW ||
	    p->block_at > DIR_RISK_NEVER)
		return err_set(err, ERR_INVALID, "policy levels are low, medium, high or never");
	if (dir_check_text("actor", p->updated_by, sizeof(p->updated_by), 0, err) != 0)
		return err->code;
	if ((st = dir_stmt(d, sql_policy_put, err)) == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	dir_bind_text(st, 2, dir_risk_level_name(p->mfa_at));
	dir_bind_text(st, 3, dir_risk_level_name(p->block_at));
	sqlite3_bind_int64(st, 4, p->updated_at != 0 ? p->updated_at : dir_now(d));
	dir_bind_text(st, 5, p->updated_by);
	rc = dir_step_change(d, st, "set risk policy", err);
	dir_stmt_done(st);
	if (rc == ERR_NOT_FOUND)
		return err_set(err, ERR_NOT_FOUND, "no tenant '%.80s'", tenant_id);
	return rc < 0 ? rc : 0;
}

int dir_risk_policy_delete(struct dir *d, const char *tenant_id, struct err *err)
{
	sqlite3_stmt *st = dir_stmt(d, sql_policy_delete, err);
	int rc;

	if (st == NULL)
		return err->code;
	dir_bind_text(st, 1, tenant_id);
	rc = dir_step_change(d, st, "drop risk policy", err);
	dir_stmt_done(st);
	if (rc == 0)
		return err_set(err, ERR_NOT_FOUND, "the tenant has no risk policy of its own");
	return rc < 0 ? rc : 0;
}

int dir_risk_expire(struct dir *d, int64_t now, int64_t forget_before, struct err *err)
{
	const char *sqls[] = {sql_lockout_expire, sql_profile_expire};
	int64_t args[] = {now, forget_before};

	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *st = dir_stmt(d, sqls[i], err);
		int rc;
		if (st == NULL)
			return err->code;
		sqlite3_bind_int64(st, 1, args[i]);
		rc = dir_step_change(d, st, "expire risk data", err);
		dir_stmt_done(st);
		if (rc < 0)
			return rc;
	}
	return 0;
}
