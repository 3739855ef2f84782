/*
 * report: the JSON side of the security reports, their authorization, and
 * the dispatch of /{tenant}/reports/... (report.h lists the endpoints).
 *
 * Filters are checked before they reach the store: a user or app named by
 * id or by name must exist in the tenant, results, steps and levels come
 * from fixed lists, addresses must be numeric, times RFC 3339 UTC or epoch
 * seconds, and a bad one is a 400 that says which.  Pages are keyset
 * paginated (time, then id): "nextCursor" goes back as ?cursor.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include "report.h"

#include "authz.h"
#include "log.h"
#include "pages.h"
#include "risk.h"
#include "sso.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const report_results[] = {"success", "failure", "locked", "blocked", NULL};
static const char *const report_steps[] = {"password", "mfa",   "recovery", "enroll",
                                           "sso",      "token", "logout",   NULL};

static int report_in(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

const char *report_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, cap, "%lld", (long long)t);
	else
		strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int report_parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	char *end;
	long long n;

	if (s == NULL || *s == '\0' || strlen(s) > 32)
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		n = strtoll(s, &end, 10);
		if (*end != '\0' || n < 0 || n > 253402300799LL) /* 9999-12-31 */
			return -1;
		*out = n;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return -1;
	} else if (strcmp(end, "Z") != 0) {
		return -1; /* UTC only: offsets invite mistakes */
	}
	if (tm.tm_year < 70 || tm.tm_year > 8099)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int report_range(struct idp_req *r, int64_t span, struct report_range *out)
{
	const char *f = http_param(&r->http->query, "from", NULL);
	const char *t = http_param(&r->http->query, "to", NULL);

	out->to = r->now + 1;
	out->from = span > 0 ? out->to - span : 0;
	if (t != NULL && report_parse_time(t, &out->to) != 0) {
		api_error(r, 400, "invalid_parameter",
		          "to: a time like 2026-11-24T10:00:00Z or epoch seconds");
		return -1;
	}
	if (f == NULL && t != NULL && span > 0)
		out->from = out->to - span;
	if (f != NULL && report_parse_time(f, &out->from) != 0) {
		api_error(r, 400, "invalid_parameter",
		          "from: a time like 2026-11-24T00:00:00Z or epoch seconds");
		return -1;
	}
	if (out->to <= out->from) {
		api_error(r, 400, "invalid_parameter", "from must be before to");
		return -1;
	}
	return 0;
}

/* ---- authorization ----------------------------------------------------- */

static void report_page_refusal(struct idp_req *r, int status, const char *message)
{
	char url[160];
	struct buf *b = &r->resp->body;

	b->len = 0;
	r->resp->status = status;
	page_begin(r, status == 401 ? "Sign in to see the reports" : "Not allowed", NULL);
	buf_puts(b, "<p>");
	buf_html(b, message);
	buf_puts(b, "</p>");
	if (status == 401) {
		snprintf(url, sizeof(url), "/%s/account", r->tenant.name);
		buf_puts(b, "<a class=\"button\" href=\"");
		buf_html(b, url);
		buf_puts(b, "\">Sign in</a><p class=\"foot\">Then come back to this page.</p>");
	}
	page_end(r);
}

int report_authorize(struct idp_req *r, const char *action, int session, struct admin_caller *who)
{
	const struct rbac_index *idx;
	struct rbac_request q;
	struct rbac_decision dec;
	struct dir_session s;
	struct dir_user u;
	struct err err = {0};
	int allowed = 0;

	if (!session || http_header(r->http, "Authorization") != NULL)
		return admin_authorize(r, action, "/", who);
	memset(who, 0, sizeof(*who));
	if (!sso_current(r, &s) || dir_user_get(r->dir, r->tenant.id, s.user_id, &u, &err) != 0 ||
	    !u.enabled || u.deleted_at != 0) {
		report_page_refusal(r, 401,
		                    "The security reports are for administrators who are "
		                    "signed in.");
		return -1;
	}
	/* a session the risk policy stepped up is not trusted until the factor is proved */
	if (s.mfa_time == 0 && risk_session_needs_mfa(r->dir, r->tenant.id, s.id_hash)) {
		report_page_refusal(r, 403, "Your sign-in still needs its second factor.");
		return -1;
	}
	if ((idx = authz_acquire(r, &err)) != NULL) {
		memset(&q, 0, sizeof(q));
		q.principal_type = RBAC_PRINCIPAL_USER;
		q.principal_id = u.id;
		q.action = action;
		q.scope = "/";
		allowed = rbac_check(idx, &q, &dec, &err) == 0 && dec.allowed;
		authz_release(r, idx);
	}
	if (!allowed) {
		log_warnx("tenant %s: report %s refused to %s from %s", r->tenant.name, action,
		          u.upn, r->http->client_ip);
		report_page_refusal(r, 403,
		                    "Your roles do not include reading the security "
		                    "reports.");
		return -1;
	}
	who->is_user = 1;
	snprintf(who->id, sizeof(who->id), "%s", u.id);
	snprintf(who->name, sizeof(who->name), "%s", u.upn);
	return 0;
}

/* ---- sign-ins ------------------------------------------------------------ */

static json_t *report_signin_json(const struct dir_signin *s)
{
	char when[32], device[64];
	json_t *det = json_loads(s->detections, 0, NULL);
	json_t *loc = json_null();

	if (s->country[0] != '\0' || s->has_geo) {
		loc = json_pack("{s:s, s:s}", "country", s->country, "city", s->city);
		if (loc != NULL && s->has_geo) {
			json_object_set_new(loc, "latitude", json_real(s->lat));
			json_object_set_new(loc, "longitude", json_real(s->lon));
		}
	}
	risk_ua_family(s->user_agent, device, sizeof(device));
	return json_pack("{s:I, s:s, s:I, s:s?, s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, "
	                 "s:s, s:o}",
	                 "id", (json_int_t)s->id, "time", report_time(s->time, when, sizeof(when)),
	                 "timestamp", (json_int_t)s->time, "userId",
	                 s->user_id[0] ? s->user_id : NULL, "userName", s->username, "appId",
	                 s->app_id[0] ? s->app_id : NULL, "step", s->step, "result", s->result,
	                 "reason", s->reason, "ip", s->ip, "userAgent", s->user_agent, "device",
	                 device, "location", loc != NULL ? loc : json_null(), "factors", s->factors,
	                 "riskLevel", s->risk, "detections",
	                 json_is_array(det) ? det : (json_decref(det), json_array()));
}

struct report_page {
	json_t *arr;
	int64_t last_time, last_id;
	int n;
};

static int report_signin_row(void *ctx, const struct dir_signin *s)
{
	struct report_page *p = ctx;

	json_array_append_new(p->arr, report_signin_json(s));
	p->last_time = s->time;
	p->last_id = s->id;
	p->n++;
	return 0;
}

/* Resolve ?user (UPN or id) and ?app (client id or id) to ids; -1 with a reply made. */
static int report_resolve(struct idp_req *r, char *user_id, char *app_id)
{
	const char *user = http_param(&r->http->query, "user", NULL);
	const char *app = http_param(&r->http->query, "app", NULL);
	struct dir_user u;
	struct dir_app a;
	struct err err = {0};

	user_id[0] = app_id[0] = '\0';
	if (user != NULL) {
		if (dir_user_get_by_upn(r->dir, r->tenant.id, user, &u, &err) != 0 &&
		    dir_user_get(r->dir, r->tenant.id, user, &u, &err) != 0) {
			api_error(r, 404, "not_found", "user: no such user in this tenant");
			return -1;
		}
		snprintf(user_id, DIR_ID_MAX, "%s", u.id);
	}
	if (app != NULL) {
		if (dir_app_get_by_client_id(r->dir, r->tenant.id, app, &a, &err) != 0 &&
		    dir_app_get(r->dir, r->tenant.id, app, &a, &err) != 0) {
			api_error(r, 404, "not_found", "app: no such app in this tenant");
			return -1;
		}
		snprintf(app_id, DIR_ID_MAX, "%s", a.id);
	}
	return 0;
}

static void report_signins(struct idp_req *r, int risky)
{
	const char *result = http_param(&r->http->query, "result", NULL);
	const char *risk = http_param(&r->http->query, "risk", NULL);
	const char *ip = http_param(&r->http->query, "ip", NULL);
	const char *step = http_param(&r->http->query, "step", NULL);
	const char *cursor = http_param(&r->http->query, "cursor", NULL);
	char user_id[DIR_ID_MAX], app_id[DIR_ID_MAX], next[48];
	unsigned char addr[16];
	struct dir_signin_search q;
	struct report_range range;
	struct report_page page = {0};
	struct err err = {0};
	const char *dup = NULL;
	int limit = api_limit(r), level = 0;

	if (http_params_dups(&r->http->query, &dup) != 0) {
		api_error(r, 400, "invalid_parameter", "a parameter appears twice");
		return;
	}
	if (limit < 0) {
		api_error(r, 400, "invalid_parameter", "limit: 1..1000");
		return;
	}
	if (result != NULL && !report_in(report_results, result)) {
		api_error(r, 400, "invalid_parameter",
		          "result: success, failure, locked or blocked");
		return;
	}
	if (step != NULL && !report_in(report_steps, step)) {
		api_error(r, 400, "invalid_parameter",
		          "step: password, mfa, recovery, enroll, sso, token or logout");
		return;
	}
	if (risk != NULL &&
	    ((level = dir_risk_level_parse(risk)) < DIR_RISK_LOW || level > DIR_RISK_HIGH)) {
		api_error(r, 400, "invalid_parameter",
		          "risk: low, medium or high (the least level)");
		return;
	}
	if (ip != NULL && inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1) {
		api_error(r, 400, "invalid_parameter", "ip: a numeric IPv4 or IPv6 address");
		return;
	}
	if (report_range(r, 0, &range) != 0 || report_resolve(r, user_id, app_id) != 0)
		return;
	memset(&q, 0, sizeof(q));
	if (cursor != NULL) {
		long long t, id;
		char tail;
		if (sscanf(cursor, "%lld.%lld%c", &t, &id, &tail) != 2 || t <= 0 || id <= 0) {
			api_error(r, 400, "invalid_parameter", "cursor: as nextCursor gave it");
			return;
		}
		q.before_time = t;
		q.before_id = id;
	}
	q.from = range.from;
	q.to = range.to;
	q.user_id = user_id[0] ? user_id : NULL;
	q.app_id = app_id[0] ? app_id : NULL;
	q.result = result;
	q.ip = ip;
	q.step = step;
	q.min_risk = risky && level == 0 ? DIR_RISK_LOW : level;
	q.limit = limit;
	page.arr = json_array();
	if (dir_signin_search(r->dir, r->tenant.id, &q, report_signin_row, &page, &err) != 0) {
		json_decref(page.arr);
		api_store_error(r, &err);
		return;
	}
	snprintf(next, sizeof(next), "%lld.%lld", (long long)page.last_time,
	         (long long)page.last_id);
	api_reply(r, 200,
	          json_pack("{s:o, s:s?}", "value", page.arr, "nextCursor",
	                    page.n == limit ? next : NULL));
}

/* ---- risky users and lockouts ----------------------------------------- */

static json_t *report_risky_json(const struct dir_risky_user *u)
{
	char t1[32], t2[32], t3[32];
	json_t *names = json_loads(u->detections, 0, NULL);

	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:s, s:s, s:s}", "userId", u->user_id,
	                 "userPrincipalName", u->upn, "riskLevel", dir_risk_level_name(u->level),
	                 "state", u->state, "detections",
	                 json_is_array(names) ? names : (json_decref(names), json_array()),
	                 "lastSignInId", (json_int_t)u->signin_id, "firstDetected",
	                 report_time(u->first_at, t1, sizeof(t1)), "lastDetected",
	                 report_time(u->last_at, t2, sizeof(t2)), "updated",
	                 report_time(u->updated_at, t3, sizeof(t3)), "updatedBy", u->updated_by);
}

static int report_risky_row(void *ctx, const struct dir_risky_user *u)
{
	json_array_append_new(ctx, report_risky_json(u));
	return 0;
}

static void report_risky_users(struct idp_req *r)
{
	const char *state = http_param(&r->http->query, "state", NULL);
	json_t *arr;
	struct err err = {0};

	if (state != NULL && !dir_risky_state_valid(state)) {
		api_error(r, 400, "invalid_parameter",
			  "state: at_risk, dismissed, confirmed or remediated");
		return;
	}
	arr = json_array();
	if (dir_risky_user_list(r->dir, r->tenant.id, state, report_risky_row, arr, &err) != 0) {
		json_decref(arr);
		api_store_error(r, &err);
		return;
	}
	api_reply(r, 200, json_pack("{s:o}", "value", arr));
}

/* The optional {"note": "..."} of an admin action; -1 with a reply made. */
static int report_note(struct idp_req *r, char *note, size_t cap)
{
	static const struct api_field fields[] = {{"note", API_STRING, 400, 0}, {NULL, 0, 0, 0}};
	json_t *body;

	note[0] = '\0';
	if (r->http->body_len == 0)
		return 0;
	if ((body = api_body(r)) == NULL)
		return -1;
	if (api_check(r, body, fields, 0) != 0) {
		json_decref(body);
		return -1;
	}
	if (api_str(body, "note") != NULL)
		snprintf(note, cap, "%s", api_str(body, "note"));
	json_decref(body);
	return 0;
}

static void report_risky_action(struct idp_req *r, const char *id, const char *what)
{
	struct admin_caller who;
	struct dir_risky_user ru;
	struct dir_user u;
	struct err err = {0};
	char note[401];
	int rc, grants = 0, confirm = strcmp(what, "/confirmCompromised") == 0;

	if (!confirm && strcmp(what, "/dismiss") != 0) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (strcmp(r->http->method, "POST") != 0) {
		api_error(r, 405, "method_not_allowed", "use POST");
		return;
	}
	if (report_authorize(r,
	                     confirm ? "idp/riskyUsers/confirmCompromised/action"
	                             : "idp/riskyUsers/dismiss/action",
	                     0, &who) != 0)
		return;
	if (report_note(r, note, sizeof(note)) != 0)
		return;
	if (dir_user_get(r->dir, r->tenant.id, id, &u, &err) != 0 &&
	    dir_user_get_by_upn(r->dir, r->tenant.id, id, &u, &err) != 0) {
		api_error(r, 404, "not_found", "no such user in this tenant");
		return;
	}
	if (confirm) {
		const struct idp_config *cfg = r->idp->cfg;
		int64_t longest =
		        cfg->refresh_ttl > cfg->access_ttl ? cfg->refresh_ttl : cfg->access_ttl;
		rc = risk_confirm(r->dir, r->tenant.id, u.id, who.name, r->http->client_ip, note,
		                  r->now, r->now + longest, &grants, &err);
	} else {
		rc = risk_dismiss(r->dir, r->tenant.id, u.id, who.name, r->http->client_ip, note,
		                  r->now, &err);
	}
	if (rc != 0 || dir_risky_user_get(r->dir, r->tenant.id, u.id, &ru, &err) != 0) {
		api_store_error(r, &err);
		return;
	}
	log_info("tenant %s: risky user %s %s by %s", r->tenant.name, u.id,
	         confirm ? "confirmed compromised" : "dismissed", who.name);
	{
		json_t *doc = report_risky_json(&ru);
		if (confirm)
			json_object_set_new(doc, "revokedGrants", json_integer(grants));
		api_reply(r, 200, doc);
	}
}

static int report_lockout_row(void *ctx, const struct dir_lockout *l)
{
	char t1[32], t2[32];

	json_array_append_new(
	        ctx, json_pack("{s:s, s:i, s:s, s:s, s:s}", "userName", l->username, "failures",
	                       l->failures, "lockedAt", report_time(l->locked_at, t1, sizeof(t1)),
	                       "lockedUntil", report_time(l->locked_until, t2, sizeof(t2)),
	                       "lastIp", l->last_ip));
	return 0;
}

static void report_lockouts(struct idp_req *r)
{
	json_t *arr = json_array();
	struct err err = {0};

	if (dir_lockout_list(r->dir, r->tenant.id, r->now, report_lockout_row, arr, &err) != 0) {
		json_decref(arr);
		api_store_error(r, &err);
		return;
	}
	api_reply(r, 200, json_pack("{s:o}", "value", arr));
}

static void report_unlock(struct idp_req *r)
{
	static const struct api_field fields[] = {{"userName", API_STRING, DIR_UPN_MAX - 1, 1},
	                                          {NULL, 0, 0, 0}};
	struct admin_caller who;
	struct err err = {0};
	json_t *body;

	if (report_authorize(r, "idp/lockouts/unlock/action", 0, &who) != 0)
		return;
	if ((body = api_body(r)) == NULL)
		return;
	if (api_check(r, body, fields, 1) != 0) {
		json_decref(body);
		return;
	}
	if (risk_unlock(r->dir, r->tenant.id, api_str(body, "userName"), who.name,
	                r->http->client_ip, &err) != 0) {
		json_decref(body);
		if (err.code == ERR_NOT_FOUND)
			api_error(r, 404, "not_found", "that name has no failures or lock");
		else
			api_store_error(r, &err);
		return;
	}
	json_decref(body);
	r->resp->status = 204;
	r->resp->body.len = 0;
}

/* ---- counts, summary, policy ------------------------------------------- */

struct report_counts {
	json_t *arr;
	int64_t from, step;
};

static int report_count_row(void *ctx, int64_t start, const char *result, int64_t n)
{
	struct report_counts *c = ctx;
	json_t *slot = json_array_get(c->arr, (size_t)((start - c->from) / c->step));

	if (slot != NULL && report_in(report_results, result))
		json_object_set_new(
		        slot, result,
		        json_integer(json_integer_value(json_object_get(slot, result)) + n));
	return 0;
}

static void report_counts(struct idp_req *r)
{
	const char *interval = http_param(&r->http->query, "interval", NULL);
	struct report_range range;
	struct report_counts c;
	struct err err = {0};
	char when[32];
	int64_t step = 3600, first;
	char *end = NULL;

	if (interval != NULL) {
		if (strcmp(interval, "minute") == 0)
			step = 60;
		else if (strcmp(interval, "hour") == 0)
			step = 3600;
		else if (strcmp(interval, "day") == 0)
			step = 86400;
		else if (strspn(interval, "0123456789") != strlen(interval) ||
		         strlen(interval) > 9 || (step = strtoll(interval, &end, 10), *end != '\0'))
			step = -1;
		if (step < 60 || step > 31LL * 86400) {
			api_error(r, 400, "invalid_parameter",
			          "interval: minute, hour, day, or 60..2678400 seconds");
			return;
		}
	}
	if (report_range(r, 86400, &range) != 0)
		return;
	first = range.from / step * step;
	if ((range.to - first) / step > 5000) {
		api_error(r, 400, "invalid_parameter",
		          "more than 5000 intervals: widen the interval");
		return;
	}
	c.arr = json_array();
	c.from = first;
	c.step = step;
	for (int64_t t = first; t < range.to; t += step)
		json_array_append_new(c.arr, json_pack("{s:s, s:I, s:i, s:i, s:i, s:i}", "time",
		                                       report_time(t, when, sizeof(when)),
		                                       "timestamp", (json_int_t)t, "success", 0,
		                                       "failure", 0, "locked", 0, "blocked", 0));
	if (dir_signin_counts(r->dir, r->tenant.id, range.from, range.to, step, report_count_row,
	                      &c, &err) != 0) {
		json_decref(c.arr);
		api_store_error(r, &err);
		return;
	}
	api_reply(r, 200,
	          json_pack("{s:I, s:I, s:I, s:o}", "from", (json_int_t)range.from, "to",
	                    (json_int_t)range.to, "interval", (json_int_t)step, "value", c.arr));
}

struct report_top {
	json_t *arr;
	const char *key;
	int with_names;
};

static int report_top_row(void *ctx, const char *value, int64_t n, int64_t names)
{
	struct report_top *t = ctx;
	json_t *o = json_pack("{s:s, s:I}", t->key, value, "count", (json_int_t)n);

	if (o != NULL && t->with_names)
		json_object_set_new(o, "names", json_integer(names));
	json_array_append_new(t->arr, o);
	return 0;
}

static void report_summary(struct idp_req *r)
{
	const char *topq = http_param(&r->http->query, "top", NULL);
	static const char *const keys[] = {"reason", "ip", "name"};
	static const char *const names[] = {"failuresByReason", "topFailingSources", "detections"};
	struct report_range range;
	struct err err = {0};
	json_t *doc;
	int top = 10;

	if (topq != NULL &&
	    ((top = atoi(topq)) < 1 || top > 100 || strspn(topq, "0123456789") != strlen(topq))) {
		api_error(r, 400, "invalid_parameter", "top: 1..100");
		return;
	}
	if (report_range(r, 86400, &range) != 0)
		return;
	doc = json_pack("{s:I, s:I}", "from", (json_int_t)range.from, "to", (json_int_t)range.to);
	for (int w = DIR_TOP_REASON; w <= DIR_TOP_DETECTION; w++) {
		struct report_top t = {json_array(), keys[w], w == DIR_TOP_SOURCE};
		if (dir_signin_top(r->dir, r->tenant.id, range.from, range.to,
		                   (enum dir_signin_top)w, top, report_top_row, &t, &err) != 0) {
			json_decref(t.arr);
			json_decref(doc);
			api_store_error(r, &err);
			return;
		}
		json_object_set_new(doc, names[w], t.arr);
	}
	api_reply(r, 200, doc);
}

static json_t *report_policy_json(struct idp_req *r)
{
	struct dir_risk_policy p;
	struct err err = {0};
	char when[32];
	const struct risk_config *c = risk_config(r->idp->risk);

	if (dir_risk_policy_get(r->dir, r->tenant.id, &p, &err) == 0)
		return json_pack(
		        "{s:s, s:s, s:s, s:s, s:s}", "requireMfaAt", dir_risk_level_name(p.mfa_at),
		        "blockAt", dir_risk_level_name(p.block_at), "source", "tenant", "updated",
		        report_time(p.updated_at, when, sizeof(when)), "updatedBy", p.updated_by);
	return json_pack("{s:s, s:s, s:s}", "requireMfaAt", dir_risk_level_name(c->mfa_at),
	                 "blockAt", dir_risk_level_name(c->block_at), "source", "configuration");
}

static void report_policy(struct idp_req *r)
{
	static const struct api_field fields[] = {
	        {"requireMfaAt", API_STRING, 8, 1}, {"blockAt", API_STRING, 8, 1}, {NULL, 0, 0, 0}};
	struct admin_caller who;
	struct err err = {0};
	json_t *body;
	int mfa_at, block_at;

	if (strcmp(r->http->method, "GET") == 0) {
		if (report_authorize(r, "idp/reports/read", 0, &who) == 0)
			api_reply(r, 200, report_policy_json(r));
		return;
	}
	if (strcmp(r->http->method, "PUT") != 0 && strcmp(r->http->method, "DELETE") != 0) {
		api_error(r, 405, "method_not_allowed", "use GET, PUT or DELETE");
		return;
	}
	if (report_authorize(r, "idp/riskPolicy/write", 0, &who) != 0)
		return;
	if (strcmp(r->http->method, "DELETE") == 0) {
		if (risk_set_policy(r->dir, r->tenant.id, -1, -1, who.name, r->http->client_ip,
		                    r->now, &err) != 0 &&
		    err.code != ERR_NOT_FOUND) {
			api_store_error(r, &err);
			return;
		}
		api_reply(r, 200, report_policy_json(r));
		return;
	}
	if ((body = api_body(r)) == NULL)
		return;
	if (api_check(r, body, fields, 1) != 0) {
		json_decref(body);
		return;
	}
	mfa_at = dir_risk_level_parse(api_str(body, "requireMfaAt"));
	block_at = dir_risk_level_parse(api_str(body, "blockAt"));
	json_decref(body);
	if (mfa_at < DIR_RISK_LOW || block_at < DIR_RISK_LOW) {
		api_error(r, 400, "invalid_field", "levels are low, medium, high or never");
		return;
	}
	if (risk_set_policy(r->dir, r->tenant.id, mfa_at, block_at, who.name, r->http->client_ip,
	                    r->now, &err) != 0) {
		api_store_error(r, &err);
		return;
	}
	api_reply(r, 200, report_policy_json(r));
}

/* ---- dispatch ------------------------------------------------------------ */

void report_dispatch(struct idp_req *r)
{
	const char *p = r->sub, *rest = NULL;
	int get = strcmp(r->http->method, "GET") == 0;
	struct admin_caller who;
	char id[DIR_UPN_MAX];

	if (strcmp(p, "/reports/policy") == 0) {
		report_policy(r);
		return;
	}
	if (strcmp(p, "/reports/lockouts/unlock") == 0) {
		if (strcmp(r->http->method, "POST") != 0)
			api_error(r, 405, "method_not_allowed", "use POST");
		else
			report_unlock(r);
		return;
	}
	if (api_path_id(p, "/reports/riskyUsers/", id, sizeof(id), &rest) == 0 && *rest != '\0') {
		report_risky_action(r, id, rest);
		return;
	}
	if (!get) {
		api_error(r, 405, "method_not_allowed", "use GET");
		return;
	}
	if (strcmp(p, "/reports/dashboard") == 0) {
		if (report_authorize(r, "idp/reports/read", 1, &who) == 0)
			report_dashboard(r, &who);
	} else if (strcmp(p, "/reports/signIns") == 0) {
		if (report_authorize(r, "idp/signIns/read", 0, &who) == 0)
			report_signins(r, 0);
	} else if (strcmp(p, "/reports/riskySignIns") == 0) {
		if (report_authorize(r, "idp/reports/read", 0, &who) == 0)
			report_signins(r, 1);
	} else if (strcmp(p, "/reports/riskyUsers") == 0) {
		if (report_authorize(r, "idp/reports/read", 0, &who) == 0)
			report_risky_users(r);
	} else if (strcmp(p, "/reports/lockouts") == 0) {
		if (report_authorize(r, "idp/reports/read", 0, &who) == 0)
			report_lockouts(r);
	} else if (strcmp(p, "/reports/counts") == 0) {
		if (report_authorize(r, "idp/reports/read", 0, &who) == 0)
			report_counts(r);
	} else if (strcmp(p, "/reports/summary") == 0) {
		if (report_authorize(r, "idp/reports/read", 0, &who) == 0)
			report_summary(r);
	} else {
		api_error(r, 404, "not_found", "no such report");
	}
}
