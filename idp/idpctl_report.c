/*
 * idpctl_report: the "report" commands: the sign-in log and the risk
 * engine's findings as readable tables (or JSON with --json), and the
 * admin's answers to them (unlock a name, dismiss a risky user, confirm a
 * compromise, set the tenant's risk policy), each audited like every other
 * idpctl change.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include "idpctl.h"

#include "config.h"
#include "idp_config.h"
#include "risk.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Print s in exactly w columns (UTF-8 aware): cut with '~' or padded. */
static void report_cell(const char *s, int w)
{
	int cols = 0;
	const char *p = s;

	while (*p != '\0' && cols < w) {
		const char *next = p + 1;
		while (((unsigned char)*next & 0xc0) == 0x80)
			next++;
		if (cols == w - 1 && *next != '\0') {
			putchar('~');
			cols++;
			break;
		}
		fwrite(p, 1, (size_t)(next - p), stdout);
		cols++;
		p = next;
	}
	for (; cols < w; cols++)
		putchar(' ');
	putchar(' ');
}

static int report_time_opt(struct ctl *c, const char *name, const char *v, int64_t *out)
{
	struct tm tm;
	char *end;

	if (v == NULL)
		return CTL_OK;
	memset(&tm, 0, sizeof(tm));
	if (strspn(v, "0123456789") == strlen(v) && *v != '\0' && strlen(v) < 12) {
		*out = strtoll(v, NULL, 10);
		return CTL_OK;
	}
	end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || (strcmp(end, "Z") != 0 && *end != '\0')) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(v, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return ctl_usage_error(c,
			                       "%s: a time like 2026-11-24T10:00:00Z (UTC), "
			                       "2026-11-24 or epoch seconds",
			                       name);
	}
	*out = (int64_t)timegm(&tm);
	return CTL_OK;
}

/* --since DUR (default def seconds before now), --from and --to into [from, to). */
static int report_range_opts(struct ctl *c, struct ctl_args *a, int64_t def, int64_t *from,
                             int64_t *to)
{
	const char *since = ctl_opt(a, "--since");
	long long secs = def;
	int rc;

	*to = (int64_t)time(NULL) + 1;
	if (since != NULL && cfg_parse_duration(since, &secs) != 0)
		return ctl_usage_error(c, "--since: a duration like 30m, 24h or 7d");
	if ((rc = report_time_opt(c, "--to", ctl_opt(a, "--to"), to)) != CTL_OK)
		return rc;
	*from = secs > 0 ? *to - secs : 0;
	if ((rc = report_time_opt(c, "--from", ctl_opt(a, "--from"), from)) != CTL_OK)
		return rc;
	if (*from >= *to)
		return ctl_usage_error(c, "the range is empty: --from must be before --to");
	return CTL_OK;
}

static int report_user(struct ctl *c, const char *tenant_id, const char *who, struct dir_user *u)
{
	struct err err = {0};

	if (dir_user_get_by_upn(c->dir, tenant_id, who, u, &err) == 0 ||
	    dir_user_get(c->dir, tenant_id, who, u, &err) == 0)
		return CTL_OK;
	if (err.code == ERR_NOT_FOUND)
		snprintf(err.msg, sizeof(err.msg), "no user '%.200s' in this tenant", who);
	return ctl_fail(c, &err);
}

/* ---- signins ------------------------------------------------------------ */

struct report_rows {
	struct ctl *c;
	json_t *arr; /* with --json */
	int n;
};

static void report_place(const struct dir_signin *s, char *out, size_t cap)
{
	if (s->city[0] != '\0')
		snprintf(out, cap, "%s, %s", s->city, s->country);
	else
		snprintf(out, cap, "%s", s->country[0] ? s->country : "-");
}

/* The detection names of a row, or its reason when it has none. */
static void report_why(const struct dir_signin *s, char *out, size_t cap)
{
	json_t *det = json_loads(s->detections, 0, NULL), *d;
	size_t i, used = 0;

	out[0] = '\0';
	json_array_foreach(det, i, d)
	{
		const char *name = json_string_value(json_object_get(d, "name"));
		if (name != NULL && used < cap)
			used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "," : "",
			                         name);
	}
	json_decref(det);
	if (out[0] == '\0')
		snprintf(out, cap, "%s", s->reason[0] ? s->reason : "-");
}

static int report_signin_print(void *ctx, const struct dir_signin *s)
{
	struct report_rows *rr = ctx;
	char when[32], place[96], why[512];

	rr->n++;
	if (rr->arr != NULL) {
		json_t *det = json_loads(s->detections, 0, NULL);
		json_array_append_new(
		        rr->arr,
		        json_pack(
		                "{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
		                "s:o}",
		                "id", (json_int_t)s->id, "time", (json_int_t)s->time, "user_id",
		                s->user_id, "username", s->username, "app_id", s->app_id, "step",
		                s->step, "result", s->result, "reason", s->reason, "ip", s->ip,
		                "user_agent", s->user_agent, "country", s->country, "city", s->city,
		                "risk", s->risk, "detections",
		                json_is_array(det) ? det : (json_decref(det), json_array())));
		return 0;
	}
	if (rr->n == 1) {
		report_cell("TIME (UTC)", 20);
		report_cell("STEP", 8);
		report_cell("RESULT", 7);
		report_cell("NAME", 26);
		report_cell("ADDRESS", 15);
		report_cell("PLACE", 18);
		report_cell("RISK", 6);
		printf("DETECTIONS / REASON\n");
	}
	report_place(s, place, sizeof(place));
	report_why(s, why, sizeof(why));
	report_cell(ctl_time(s->time, when, sizeof(when)), 20);
	report_cell(s->step, 8);
	report_cell(s->result, 7);
	report_cell(s->username[0] ? s->username : s->user_id[0] ? s->user_id : "-", 26);
	report_cell(s->ip, 15);
	report_cell(place, 18);
	report_cell(s->risk, 6);
	printf("%s\n", why);
	return 0;
}

static int report_json_out(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(doc);
	return CTL_OK;
}

static int report_signins(struct ctl *c, const struct dir_tenant *t, struct ctl_args *a, int risky)
{
	const char *user = ctl_opt(a, "--user"), *app = ctl_opt(a, "--app");
	const char *result = ctl_opt(a, "--result"), *risk = ctl_opt(a, "--risk");
	const char *ip = ctl_opt(a, "--ip"), *limit = ctl_opt(a, "--limit");
	struct report_rows rr = {c, NULL, 0};
	struct dir_signin_search q;
	struct dir_user u;
	struct dir_app ap;
	struct err err = {0};
	unsigned char addr[16];
	int rc;

	memset(&q, 0, sizeof(q));
	if ((rc = report_range_opts(c, a, 86400, &q.from, &q.to)) != CTL_OK ||
	    (rc = ctl_args_done(c, a, 2)) != CTL_OK)
		return rc;
	if (user != NULL) {
		if ((rc = report_user(c, t->id, user, &u)) != CTL_OK)
			return rc;
		q.user_id = u.id;
	}
	if (app != NULL) {
		if (dir_app_get_by_client_id(c->dir, t->id, app, &ap, &err) != 0 &&
		    dir_app_get(c->dir, t->id, app, &ap, &err) != 0)
			return ctl_fail(c, &err);
		q.app_id = ap.id;
	}
	if (result != NULL && strcmp(result, "success") != 0 && strcmp(result, "failure") != 0 &&
	    strcmp(result, "locked") != 0 && strcmp(result, "blocked") != 0)
		return ctl_usage_error(c, "--result: success, failure, locked or blocked");
	q.result = result;
	if (risk != NULL && ((q.min_risk = dir_risk_level_parse(risk)) < DIR_RISK_LOW ||
	                     q.min_risk > DIR_RISK_HIGH))
		return ctl_usage_error(c, "--risk: low, medium or high (the least level)");
	if (risky && q.min_risk == 0)
		q.min_risk = DIR_RISK_LOW;
	if (ip != NULL && inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1)
		return ctl_usage_error(c, "--ip: a numeric address");
	q.ip = ip;
	q.limit = limit != NULL ? atoi(limit) : 50;
	if (q.limit < 1 || q.limit > 1000)
		return ctl_usage_error(c, "--limit: 1..1000");
	if (c->json)
		rr.arr = json_array();
	if (dir_signin_search(c->dir, t->id, &q, report_signin_print, &rr, &err) != 0) {
		json_decref(rr.arr);
		return ctl_fail(c, &err);
	}
	if (c->json)
		return report_json_out(rr.arr);
	if (rr.n == 0)
		printf("no %ssign-ins in that range\n", risky ? "risky " : "");
	return CTL_OK;
}

/* ---- risky users, lockouts -------------------------------------------- */

static int report_user_print(void *ctx, const struct dir_risky_user *u)
{
	struct report_rows *rr = ctx;
	char when[32];

	rr->n++;
	if (rr->arr != NULL) {
		json_t *names = json_loads(u->detections, 0, NULL);
		json_array_append_new(
		        rr->arr,
		        json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:s}", "user_id", u->user_id,
		                  "upn", u->upn, "level", dir_risk_level_name(u->level), "state",
		                  u->state, "detections",
		                  json_is_array(names) ? names : (json_decref(names), json_array()),
		                  "first_at", (json_int_t)u->first_at, "last_at",
		                  (json_int_t)u->last_at, "updated_by", u->updated_by));
		return 0;
	}
	if (rr->n == 1) {
		report_cell("USER", 30);
		report_cell("RISK", 6);
		report_cell("STATE", 9);
		report_cell("LAST DETECTED (UTC)", 20);
		printf("DETECTIONS\n");
	}
	report_cell(u->upn[0] ? u->upn : u->user_id, 30);
	report_cell(dir_risk_level_name(u->level), 6);
	report_cell(u->state, 9);
	report_cell(ctl_time(u->last_at, when, sizeof(when)), 20);
	printf("%s\n", u->detections);
	return 0;
}

static int report_risky(struct ctl *c, const struct dir_tenant *t, struct ctl_args *a)
{
	const char *state = ctl_opt(a, "--state");
	struct report_rows rr = {c, NULL, 0};
	struct err err = {0};
	json_t *users = NULL;

	if (state != NULL && !dir_risky_state_valid(state))
		return ctl_usage_error(c, "--state: at_risk, dismissed, confirmed or remediated");
	if (c->json)
		rr.arr = users = json_array();
	else
		printf("Risky users%s%s:\n", state ? " " : "", state ? state : "");
	if (dir_risky_user_list(c->dir, t->id, state, report_user_print, &rr, &err) != 0) {
		json_decref(users);
		return ctl_fail(c, &err);
	}
	if (!c->json) {
		if (rr.n == 0)
			printf("none\n");
		printf("\nRisky sign-ins:\n");
	}
	if (c->json) {
		/* the sign-ins go to their own array; put the pair out as one document */
		struct report_rows rs = {c, json_array(), 0};
		struct dir_signin_search q;
		int rc;
		memset(&q, 0, sizeof(q));
		if ((rc = report_range_opts(c, a, 86400, &q.from, &q.to)) != CTL_OK ||
		    (rc = ctl_args_done(c, a, 2)) != CTL_OK) {
			json_decref(users);
			json_decref(rs.arr);
			return rc;
		}
		q.min_risk = DIR_RISK_LOW;
		q.limit = 1000;
		if (dir_signin_search(c->dir, t->id, &q, report_signin_print, &rs, &err) != 0) {
			json_decref(users);
			json_decref(rs.arr);
			return ctl_fail(c, &err);
		}
		return report_json_out(
		        json_pack("{s:o, s:o}", "risky_users", users, "risky_signins", rs.arr));
	}
	return report_signins(c, t, a, 1);
}

static int report_lock_print(void *ctx, const struct dir_lockout *l)
{
	struct report_rows *rr = ctx;
	char when[32];

	rr->n++;
	if (rr->arr != NULL) {
		json_array_append_new(rr->arr,
		                      json_pack("{s:s, s:i, s:s, s:I, s:I}", "name", l->username,
		                                "failures", l->failures, "last_ip", l->last_ip,
		                                "locked_at", (json_int_t)l->locked_at,
		                                "locked_until", (json_int_t)l->locked_until));
		return 0;
	}
	if (rr->n == 1) {
		report_cell("NAME", 30);
		report_cell("FAILURES", 8);
		report_cell("LAST ADDRESS", 16);
		printf("LOCKED UNTIL (UTC)\n");
	}
	report_cell(l->username, 30);
	printf("%-8d ", l->failures);
	report_cell(l->last_ip, 16);
	printf("%s\n", ctl_time(l->locked_until, when, sizeof(when)));
	return 0;
}

static int report_lockouts(struct ctl *c, const struct dir_tenant *t, struct ctl_args *a)
{
	struct report_rows rr = {c, NULL, 0};
	struct err err = {0};
	int rc;

	if ((rc = ctl_args_done(c, a, 2)) != CTL_OK)
		return rc;
	if (c->json)
		rr.arr = json_array();
	if (dir_lockout_list(c->dir, t->id, (int64_t)time(NULL), report_lock_print, &rr, &err) !=
	    0) {
		json_decref(rr.arr);
		return ctl_fail(c, &err);
	}
	if (c->json)
		return report_json_out(rr.arr);
	if (rr.n == 0)
		printf("no name is locked\n");
	return CTL_OK;
}

/* ---- admin actions ------------------------------------------------------- */

static int report_act(struct ctl *c, const struct dir_tenant *t, struct ctl_args *a,
                      const char *what)
{
	const char *note = ctl_opt(a, "--note"), *target = ctl_pos(a, 2);
	char actor[DIR_UPN_MAX];
	struct dir_user u;
	struct err err = {0};
	int rc, grants = 0;
	json_t *probe;

	if ((rc = ctl_args_done(c, a, 3)) != CTL_OK)
		return rc;
	if (target == NULL)
		return ctl_usage_error(c, "report %s TENANT %s", what,
		                       what[0] == 'u' ? "NAME" : "UPN|ID");
	probe = note != NULL ? json_string(note) : NULL;
	if (note != NULL && (probe == NULL || strlen(note) > 400)) {
		json_decref(probe);
		return ctl_usage_error(c, "--note: at most 400 bytes of UTF-8 text");
	}
	json_decref(probe);
	ctl_actor(actor, sizeof(actor));
	if (strcmp(what, "unlock") == 0) {
		if (risk_unlock(c->dir, t->id, target, actor, "", &err) != 0) {
			if (err.code == ERR_NOT_FOUND)
				snprintf(err.msg, sizeof(err.msg),
				         "'%.200s' has no failed sign-ins recorded", target);
			return ctl_fail(c, &err);
		}
		printf("unlocked '%s': its failures are forgotten\n", target);
		return CTL_OK;
	}
	if ((rc = report_user(c, t->id, target, &u)) != CTL_OK)
		return rc;
	if (strcmp(what, "dismiss") == 0) {
		if (risk_dismiss(c->dir, t->id, u.id, actor, "", note, (int64_t)time(NULL), &err) !=
		    0) {
			if (err.code == ERR_NOT_FOUND)
				snprintf(err.msg, sizeof(err.msg), "%.200s is not flagged risky",
				         u.upn);
			return ctl_fail(c, &err);
		}
		printf("dismissed the risk of %s\n", u.upn);
		return CTL_OK;
	}
	{
		int64_t longest = 14LL * 86400, now = (int64_t)time(NULL);
		if (c->cfg != NULL)
			longest = c->cfg->refresh_ttl > c->cfg->access_ttl ? c->cfg->refresh_ttl
			                                                   : c->cfg->access_ttl;
		if (risk_confirm(c->dir, t->id, u.id, actor, "", note, now, now + longest, &grants,
		                 &err) != 0)
			return ctl_fail(c, &err);
	}
	printf("confirmed %s compromised: every session and refresh token revoked (%d grant%s)\n",
	       u.upn, grants, grants == 1 ? "" : "s");
	return CTL_OK;
}

static int report_policy(struct ctl *c, const struct dir_tenant *t, struct ctl_args *a)
{
	const char *mfa = ctl_opt(a, "--require-mfa-at"), *block = ctl_opt(a, "--block-at");
	int reset = ctl_flag(a, "--reset"), mfa_at, block_at, rc;
	struct dir_risk_policy p;
	struct err err = {0};
	char actor[DIR_UPN_MAX];

	if ((rc = ctl_args_done(c, a, 2)) != CTL_OK)
		return rc;
	ctl_actor(actor, sizeof(actor));
	if (reset && (mfa != NULL || block != NULL))
		return ctl_usage_error(c, "--reset goes alone");
	if (reset) {
		if (risk_set_policy(c->dir, t->id, -1, -1, actor, "", (int64_t)time(NULL), &err) !=
		            0 &&
		    err.code != ERR_NOT_FOUND)
			return ctl_fail(c, &err);
	} else if (mfa != NULL || block != NULL) {
		if ((mfa != NULL) != (block != NULL))
			return ctl_usage_error(c, "give both --require-mfa-at and --block-at");
		mfa_at = dir_risk_level_parse(mfa);
		block_at = dir_risk_level_parse(block);
		if (mfa_at < DIR_RISK_LOW || block_at < DIR_RISK_LOW)
			return ctl_usage_error(c, "levels are low, medium, high or never");
		if (risk_set_policy(c->dir, t->id, mfa_at, block_at, actor, "", (int64_t)time(NULL),
		                    &err) != 0)
			return ctl_fail(c, &err);
	}
	if (dir_risk_policy_get(c->dir, t->id, &p, &err) == 0) {
		mfa_at = p.mfa_at;
		block_at = p.block_at;
	} else {
		/* the configuration's defaults (medium, high unless it says otherwise) */
		mfa_at = c->cfg != NULL ? c->cfg->risk_mfa_at + DIR_RISK_LOW : DIR_RISK_MEDIUM;
		block_at = c->cfg != NULL ? c->cfg->risk_block_at + DIR_RISK_LOW : DIR_RISK_HIGH;
	}
	if (c->json)
		return report_json_out(json_pack("{s:s, s:s, s:s}", "require_mfa_at",
		                                 dir_risk_level_name(mfa_at), "block_at",
		                                 dir_risk_level_name(block_at), "source",
		                                 err.code == 0 ? "tenant" : "configuration"));
	printf("second factor required from: %s\nblocked from:                %s\n(%s)\n",
	       dir_risk_level_name(mfa_at), dir_risk_level_name(block_at),
	       err.code == 0 ? "the tenant's own policy" : "the configuration's default");
	return CTL_OK;
}

static int report_purge(struct ctl *c, struct ctl_args *a)
{
	const char *older = ctl_opt(a, "--older-than");
	long long secs = 0;
	int64_t n = 0, total = 0;
	struct err err = {0};
	int rc;

	if ((rc = ctl_args_done(c, a, 1)) != CTL_OK)
		return rc;
	if (older == NULL || cfg_parse_duration(older, &secs) != 0 || secs < 3600)
		return ctl_usage_error(c, "--older-than: a duration of at least 1h, like 90d");
	do {
		if (dir_signin_purge(c->dir, (int64_t)time(NULL) - secs, 10000, &n, &err) != 0)
			return ctl_fail(c, &err);
		total += n;
	} while (n == 10000);
	printf("purged %lld sign-in rows older than %s\n", (long long)total, older);
	return CTL_OK;
}

static const char report_usage[] =
        "report signins TENANT [--user U] [--app A] [--result R] [--risk L] [--ip IP]\n"
        "               [--since DUR | --from T] [--to T] [--limit N]\n"
        "report risky|lockouts|unlock NAME|dismiss UPN|confirm UPN|policy|purge ...";

int ctl_cmd_report(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	const char *sub, *tenant;
	int rc;

	if (argc < 1)
		return ctl_usage_error(c, "%s", report_usage);
	if (ctl_args_init(&a, argc, argv) != 0)
		return CTL_FAIL;
	sub = argv[0];
	a.used[0] = 1;
	if (strcmp(sub, "purge") == 0) {
		rc = report_purge(c, &a);
		goto out;
	}
	tenant = ctl_pos(&a, 0);
	if (tenant == NULL) {
		rc = ctl_usage_error(c, "report %s needs a TENANT", sub);
		goto out;
	}
	a.used[0] = 0; /* positions count from the subcommand again */
	if ((rc = ctl_tenant(c, tenant, &t)) != CTL_OK)
		goto out;
	if (strcmp(sub, "signins") == 0)
		rc = report_signins(c, &t, &a, 0);
	else if (strcmp(sub, "risky") == 0)
		rc = report_risky(c, &t, &a);
	else if (strcmp(sub, "lockouts") == 0)
		rc = report_lockouts(c, &t, &a);
	else if (strcmp(sub, "unlock") == 0 || strcmp(sub, "dismiss") == 0 ||
	         strcmp(sub, "confirm") == 0)
		rc = report_act(c, &t, &a, sub);
	else if (strcmp(sub, "policy") == 0)
		rc = report_policy(c, &t, &a);
	else
		rc = ctl_usage_error(c, "unknown report command '%s'", sub);
out:
	ctl_args_free(&a);
	return rc;
}
