/*
 * report_dashboard: the security dashboard, one HTML page rendered by the
 * server: totals, sign-ins over time by result, failures by reason, the
 * top failing sources, detections by name, and the risky sign-ins (with
 * each detection's reason), risky users and lockouts as tables.
 *
 * No JavaScript and no external asset: the charts are inline SVG
 * (report_svg.c), the one style sheet is inline and allowed by its hash in
 * the Content-Security-Policy, and every string from the log is escaped.
 * The range comes from ?from and ?to, or ?days (1, 7 or 30; default 1).
 */
#include "report.h"

#include "risk.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_TOP     10
#define DASH_BUCKETS 400
#define DASH_RISKY   50

static const char dash_css[] =
        ":root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--bg:#f3f5f8;--card:#fff;"
        "--line:#d5dae1;--accent:#2457c5;--bad:#b3261e}"
        "@media (prefers-color-scheme:dark){:root{--fg:#e6e9ee;--muted:#9aa4b1;--bg:#15181d;"
        "--card:#1f232a;--line:#353b45;--accent:#6d9bff;--bad:#ff8a80}}"
        "*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);"
        "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
        "header{padding:20px 32px 8px}header h1{margin:0;font-size:22px;font-weight:600}"
        "header p{margin:4px 0 0;color:var(--muted)}nav a{margin-right:12px;color:var(--accent)}"
        "main{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px;"
        "padding:16px 32px 32px}"
        "section{background:var(--card);border:1px solid var(--line);border-radius:10px;"
        "padding:16px 20px;min-width:0}section.wide{grid-column:1/-1}"
        "h2{font-size:16px;margin:0 0 12px;font-weight:600}"
        ".tiles{display:flex;flex-wrap:wrap;gap:12px}.tile{flex:1 1 120px;border:1px solid "
        "var(--line);border-radius:8px;padding:10px 14px}.tile b{display:block;font-size:24px;"
        "font-variant-numeric:tabular-nums}.tile span{color:var(--muted);font-size:12px}"
        "svg.chart{width:100%;height:auto;display:block}"
        "table{width:100%;border-collapse:collapse;font-size:13px}th,td{text-align:left;"
        "padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}"
        "th{color:var(--muted);font-weight:600}td.num{font-variant-numeric:tabular-nums;"
        "white-space:nowrap}"
        ".lvl{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;"
        "font-weight:600;color:#fff}.lvl-low{background:#7a869a}.lvl-medium{background:#e07000}"
        ".lvl-high{background:#c62828}.det{margin:0;padding-left:16px}.det li{margin:2px 0}"
        ".det b{font-weight:600}.muted{color:var(--muted)}";

static char dash_css_hash[64];
static pthread_once_t dash_once = PTHREAD_ONCE_INIT;

static void dash_hash(void)
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)dash_css, strlen(dash_css), d);
	EVP_EncodeBlock((unsigned char *)dash_css_hash, d, sizeof(d));
}

/* ---- what the page collects --------------------------------------------- */

enum { DASH_SUCCESS, DASH_FAILURE, DASH_LOCKED, DASH_BLOCKED };

struct dash_counts {
	int64_t start, step;
	int n;
	int64_t (*v)[REPORT_SERIES_MAX];
	int64_t total[4];
};

static int dash_count_row(void *ctx, int64_t start, const char *result, int64_t n)
{
	struct dash_counts *c = ctx;
	int64_t i = (start - c->start) / c->step;
	int s = strcmp(result, "success") == 0   ? DASH_SUCCESS
	        : strcmp(result, "locked") == 0  ? DASH_LOCKED
	        : strcmp(result, "blocked") == 0 ? DASH_BLOCKED
	                                         : DASH_FAILURE;

	if (i >= 0 && i < c->n)
		c->v[i][s] += n;
	c->total[s] += n;
	return 0;
}

struct dash_top {
	char labels[DASH_TOP][DIR_UPN_MAX + 32];
	const char *ptrs[DASH_TOP];
	int64_t values[DASH_TOP];
	int n;
	int with_names;
};

static int dash_top_row(void *ctx, const char *value, int64_t n, int64_t names)
{
	struct dash_top *t = ctx;

	if (t->n >= DASH_TOP)
		return 1;
	if (t->with_names)
		snprintf(t->labels[t->n], sizeof(t->labels[0]), "%s (%lld name%s)", value,
		         (long long)names, names == 1 ? "" : "s");
	else
		snprintf(t->labels[t->n], sizeof(t->labels[0]), "%s", value[0] ? value : "(none)");
	t->ptrs[t->n] = t->labels[t->n];
	t->values[t->n++] = n;
	return 0;
}

/* ---- tables ------------------------------------------------------------ */

static const char *dash_str(const json_t *v, const char *dflt)
{
	const char *s = json_string_value(v);

	return s != NULL ? s : dflt;
}

static void dash_level(struct buf *b, const char *level)
{
	buf_puts(b, "<span class=\"lvl lvl-");
	buf_html(b, level);
	buf_puts(b, "\">");
	buf_html(b, level);
	buf_puts(b, "</span>");
}

struct dash_risky {
	struct buf *b;
	int n;
};

static int dash_risky_row(void *ctx, const struct dir_signin *s)
{
	struct dash_risky *dr = ctx;
	struct buf *b = dr->b;
	json_t *det = json_loads(s->detections, 0, NULL), *d;
	char when[32];
	size_t i;

	dr->n++;
	buf_puts(b, "<tr><td class=\"num\">");
	buf_html(b, report_time(s->time, when, sizeof(when)));
	buf_puts(b, "</td><td>");
	buf_html(b, s->username[0] ? s->username : s->user_id[0] ? s->user_id : "-");
	buf_puts(b, "</td><td>");
	buf_html(b, s->step);
	buf_puts(b, " ");
	buf_html(b, s->result);
	buf_puts(b, "</td><td>");
	buf_html(b, s->ip);
	if (s->country[0] != '\0') {
		buf_puts(b, "<br><span class=\"muted\">");
		if (s->city[0] != '\0') {
			buf_html(b, s->city);
			buf_puts(b, ", ");
		}
		buf_html(b, s->country);
		buf_puts(b, "</span>");
	}
	buf_puts(b, "</td><td>");
	dash_level(b, s->risk);
	buf_puts(b, "</td><td><ul class=\"det\">");
	json_array_foreach(det, i, d)
	{
		buf_puts(b, "<li><b>");
		buf_html(b, dash_str(json_object_get(d, "name"), "?"));
		buf_puts(b, "</b>: ");
		buf_html(b, dash_str(json_object_get(d, "reason"), ""));
		buf_puts(b, "</li>");
	}
	buf_puts(b, "</ul></td></tr>");
	json_decref(det);
	return 0;
}

static int dash_user_row(void *ctx, const struct dir_risky_user *u)
{
	struct dash_risky *dr = ctx;
	struct buf *b = dr->b;
	json_t *names = json_loads(u->detections, 0, NULL), *v;
	char when[32];
	size_t i;

	dr->n++;
	buf_puts(b, "<tr><td>");
	buf_html(b, u->upn[0] ? u->upn : u->user_id);
	buf_puts(b, "</td><td>");
	dash_level(b, dir_risk_level_name(u->level));
	buf_puts(b, "</td><td>");
	json_array_foreach(names, i, v)
	{
		if (i > 0)
			buf_puts(b, ", ");
		buf_html(b, dash_str(v, "?"));
	}
	buf_puts(b, "</td><td class=\"num\">");
	buf_html(b, report_time(u->last_at, when, sizeof(when)));
	buf_puts(b, "</td></tr>");
	json_decref(names);
	return 0;
}

static int dash_lock_row(void *ctx, const struct dir_lockout *l)
{
	struct dash_risky *dr = ctx;
	struct buf *b = dr->b;
	char when[32];

	dr->n++;
	buf_puts(b, "<tr><td>");
	buf_html(b, l->username);
	buf_printf(b, "</td><td class=\"num\">%d</td><td>", l->failures);
	buf_html(b, l->last_ip);
	buf_puts(b, "</td><td class=\"num\">");
	buf_html(b, report_time(l->locked_until, when, sizeof(when)));
	buf_puts(b, "</td></tr>");
	return 0;
}

/* ---- the page --------------------------------------------------------------- */

static void dash_tile(struct buf *b, const char *id, int64_t n, const char *what)
{
	buf_printf(b, "<div class=\"tile\" id=\"%s\"><b>%lld</b><span>", id, (long long)n);
	buf_html(b, what);
	buf_puts(b, "</span></div>");
}

static void dash_bars_section(struct buf *b, const char *id, const char *title, struct dash_top *t,
                              const char *color)
{
	buf_printf(b, "<section id=\"%s\"><h2>", id);
	buf_html(b, title);
	buf_puts(b, "</h2>");
	report_svg_bars(b, title, t->ptrs, t->values, t->n, color);
	buf_puts(b, "</section>");
}

void report_dashboard(struct idp_req *r, const struct admin_caller *who)
{
	const char *days = http_param(&r->http->query, "days", NULL);
	struct buf *b = &r->resp->body;
	struct report_range range;
	struct dash_counts c;
	struct dash_top top[3];
	struct dash_risky dr;
	struct dir_signin_search q;
	struct report_columns col;
	struct err err = {0};
	char csp[256], t1[32], t2[32];
	int64_t span = 86400;
	int ok = 1;

	pthread_once(&dash_once, dash_hash);
	if (days != NULL) {
		if (strcmp(days, "1") != 0 && strcmp(days, "7") != 0 && strcmp(days, "30") != 0) {
			api_error(r, 400, "invalid_parameter", "days: 1, 7 or 30");
			return;
		}
		span = 86400LL * atoi(days);
	}
	if (report_range(r, span, &range) != 0)
		return;
	memset(&c, 0, sizeof(c));
	c.step = range.to - range.from <= 2 * 86400 ? 3600 : 86400;
	c.start = range.from / c.step * c.step;
	c.n = (int)((range.to - c.start + c.step - 1) / c.step);
	if (c.n > DASH_BUCKETS) {
		c.step = (range.to - c.start) / DASH_BUCKETS / 86400 * 86400 + 86400;
		c.start = range.from / c.step * c.step;
		c.n = (int)((range.to - c.start + c.step - 1) / c.step);
	}
	if ((c.v = calloc((size_t)c.n + 1, sizeof(*c.v))) == NULL) {
		api_error(r, 503, "unavailable", "out of memory");
		return;
	}
	memset(top, 0, sizeof(top));
	top[1].with_names = 1;
	ok = dir_signin_counts(r->dir, r->tenant.id, range.from, range.to, c.step, dash_count_row,
	                       &c, &err) == 0;
	for (int w = 0; ok && w < 3; w++) {
		int rc = dir_signin_top(r->dir, r->tenant.id, range.from, range.to,
		                        (enum dir_signin_top)w, DASH_TOP, dash_top_row, &top[w],
		                        &err);
		ok = rc == 0 || rc == 1;
	}
	if (!ok) {
		free(c.v);
		api_store_error(r, &err);
		return;
	}

	snprintf(csp, sizeof(csp),
	         "default-src 'none'; style-src 'sha256-%s'; img-src data:; form-action 'self'; "
	         "frame-ancestors 'none'; base-uri 'none'",
	         dash_css_hash);
	r->resp->content_type = "text/html; charset=utf-8";
	http_resp_header(r->resp, "Content-Security-Policy", csp);
	http_resp_header(r->resp, "Cache-Control", "no-store");
	b->len = 0;
	buf_puts(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta "
	            "name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>"
	            "Sign-in security · ");
	buf_html(b, r->tenant.display_name[0] ? r->tenant.display_name : r->tenant.name);
	buf_puts(b, "</title><style>");
	buf_puts(b, dash_css);
	buf_puts(b, "</style></head><body><header><h1>Sign-in security · ");
	buf_html(b, r->tenant.display_name[0] ? r->tenant.display_name : r->tenant.name);
	buf_puts(b, "</h1><p id=\"range\">");
	buf_html(b, report_time(range.from, t1, sizeof(t1)));
	buf_puts(b, " to ");
	buf_html(b, report_time(range.to, t2, sizeof(t2)));
	buf_puts(b, " · signed in as ");
	buf_html(b, who->name);
	buf_printf(b,
	           "</p><nav><a href=\"/%s/reports/dashboard?days=1\">last day</a><a "
	           "href=\"/%s/reports/dashboard?days=7\">last week</a><a "
	           "href=\"/%s/reports/dashboard?days=30\">last 30 days</a></nav></header><main>",
	           r->tenant.name, r->tenant.name, r->tenant.name);

	/* totals */
	buf_puts(b, "<section class=\"wide\" id=\"totals\"><h2>Totals</h2><div class=\"tiles\">");
	dash_tile(b, "total-signins", c.total[0] + c.total[1] + c.total[2] + c.total[3],
	          "attempts");
	dash_tile(b, "total-success", c.total[DASH_SUCCESS], "succeeded");
	dash_tile(b, "total-failure", c.total[DASH_FAILURE], "failed");
	dash_tile(b, "total-locked", c.total[DASH_LOCKED], "refused: locked");
	dash_tile(b, "total-blocked", c.total[DASH_BLOCKED], "refused: risk");
	buf_puts(b, "</div></section>");

	/* sign-ins over time by result */
	memset(&col, 0, sizeof(col));
	col.title = "Sign-in attempts over time, by result";
	col.series[0] = "success";
	col.series[1] = "failure";
	col.series[2] = "locked";
	col.series[3] = "blocked";
	col.colors[0] = "#2e7d32";
	col.colors[1] = "#c62828";
	col.colors[2] = "#ef6c00";
	col.colors[3] = "#6a1b9a";
	col.nseries = 4;
	col.start = c.start;
	col.step = c.step;
	col.n = c.n;
	col.v = (const int64_t(*)[REPORT_SERIES_MAX])c.v;
	buf_printf(b,
	           "<section class=\"wide\" id=\"over-time\"><h2>Sign-in attempts over time "
	           "(per %s)</h2>",
	           c.step == 3600 ? "hour" : "day");
	report_svg_columns(b, &col);
	buf_puts(b, "</section>");
	free(c.v);

	dash_bars_section(b, "by-reason", "Failures by reason", &top[0], "#c62828");
	dash_bars_section(b, "top-sources", "Top failing sources", &top[1], "#ef6c00");
	dash_bars_section(b, "by-detection", "Detections", &top[2], "#6a1b9a");

	/* risky users and lockouts */
	dr.b = b;
	dr.n = 0;
	buf_puts(b, "<section id=\"risky-users\"><h2>Risky users</h2><table><thead><tr><th>User"
	            "</th><th>Risk</th><th>Detections</th><th>Last detected</th></tr></thead>"
	            "<tbody>");
	if (dir_risky_user_list(r->dir, r->tenant.id, "at_risk", dash_user_row, &dr, &err) != 0)
		buf_puts(b, "<tr><td colspan=\"4\">could not be read</td></tr>");
	else if (dr.n == 0)
		buf_puts(b, "<tr><td colspan=\"4\" class=\"muted\">none</td></tr>");
	buf_puts(b, "</tbody></table><h2>Locked names</h2>");
	dr.n = 0;
	buf_puts(b, "<table id=\"lockouts\"><thead><tr><th>Name</th><th>Failures</th><th>Last "
	            "address</th><th>Locked until</th></tr></thead><tbody>");
	if (dir_lockout_list(r->dir, r->tenant.id, r->now, dash_lock_row, &dr, &err) != 0)
		buf_puts(b, "<tr><td colspan=\"4\">could not be read</td></tr>");
	else if (dr.n == 0)
		buf_puts(b, "<tr><td colspan=\"4\" class=\"muted\">none</td></tr>");
	buf_puts(b, "</tbody></table></section>");

	/* risky sign-ins with their detections */
	memset(&q, 0, sizeof(q));
	q.from = range.from;
	q.to = range.to;
	q.min_risk = DIR_RISK_LOW;
	q.limit = DASH_RISKY;
	dr.n = 0;
	buf_printf(b,
	           "<section class=\"wide\" id=\"risky-signins\"><h2>Risky sign-ins (latest "
	           "%d)</h2><table><thead><tr><th>Time (UTC)</th><th>Name</th><th>Step</th>"
	           "<th>Address</th><th>Risk</th><th>Detections</th></tr></thead><tbody>",
	           DASH_RISKY);
	if (dir_signin_search(r->dir, r->tenant.id, &q, dash_risky_row, &dr, &err) != 0)
		buf_puts(b, "<tr><td colspan=\"6\">could not be read</td></tr>");
	else if (dr.n == 0)
		buf_puts(b, "<tr><td colspan=\"6\" class=\"muted\">none</td></tr>");
	buf_puts(b, "</tbody></table></section></main></body></html>\n");
}
