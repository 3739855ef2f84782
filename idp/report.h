/*
 * report: the tenant's security reports under /{tenant}/reports/: the
 * sign-in log, risky sign-ins, risky users, lockouts, counts over time, a
 * summary, the risk policy (JSON, for an admin token with the RBAC action
 * named below), and the dashboard page (server-rendered HTML with SVG
 * charts; also for a signed-in user whose roles allow idp/reports/read).
 *
 *   GET  /reports/signIns            idp/signIns/read
 *   GET  /reports/riskySignIns       idp/reports/read
 *   GET  /reports/riskyUsers         idp/reports/read
 *   POST /reports/riskyUsers/{id}/dismiss             idp/riskyUsers/dismiss/action
 *   POST /reports/riskyUsers/{id}/confirmCompromised  idp/riskyUsers/confirmCompromised/action
 *   GET  /reports/lockouts           idp/reports/read
 *   POST /reports/lockouts/unlock    idp/lockouts/unlock/action
 *   GET  /reports/counts             idp/reports/read
 *   GET  /reports/summary            idp/reports/read
 *   GET  /reports/policy             idp/reports/read
 *   PUT|DELETE /reports/policy       idp/riskPolicy/write
 *   GET  /reports/dashboard          idp/reports/read
 *
 * Every action is at scope "/"; every change is audited.
 */
#ifndef IDP_REPORT_H
#define IDP_REPORT_H

#include "admin_auth.h"
#include "api.h"
#include "buf.h"

/* A report's time range: ?from and ?to (RFC 3339 UTC or epoch seconds). */
struct report_range {
	int64_t from, to;
};

/*
 * Parse ?from and ?to; missing ones default to the `span` seconds up to
 * now (span 0: from the beginning).  0, or -1 with a 400 made.
 */
int report_range(struct idp_req *r, int64_t span, struct report_range *out);

/* Parse "2026-11-24T10:00:00Z" (or epoch seconds); 0 or -1. */
int report_parse_time(const char *s, int64_t *out);

/* Format t as "2026-11-24T10:00:00Z" into buf. */
const char *report_time(int64_t t, char *buf, size_t cap);

/*
 * Authorize a report call: a Bearer admin token (admin_auth.h), or with
 * `session` a browser's SSO session of a user whose roles allow action
 * (a session that still owes a second factor to the risk policy does not
 * count).  0 when allowed; else the response is made (JSON, or with
 * `session` an HTML page) and -1 returned.
 */
int report_authorize(struct idp_req *r, const char *action, int session, struct admin_caller *who)
        __attribute__((warn_unused_result));

/* The dashboard page (report_dashboard.c), after authorization. */
void report_dashboard(struct idp_req *r, const struct admin_caller *who);

/* ---- SVG charts (report_svg.c): self-contained, no script, no style ---- */

#define REPORT_SERIES_MAX 4

/* A stacked column chart: n buckets, each split into series (e.g. by result). */
struct report_columns {
	const char *title;
	const char *series[REPORT_SERIES_MAX]; /* names, in stacking order */
	const char *colors[REPORT_SERIES_MAX]; /* fill colours, "#rrggbb" */
	int nseries;
	int64_t start, step; /* the first bucket's time and each bucket's length */
	int n;
	const int64_t (*v)[REPORT_SERIES_MAX]; /* n rows of nseries counts */
};

/* Append the chart as an <svg> element (with a <title> and labelled axes). */
void report_svg_columns(struct buf *b, const struct report_columns *c);

/* A horizontal bar chart of n labelled values, largest first (as given). */
void report_svg_bars(struct buf *b, const char *title, const char *const *labels,
                     const int64_t *values, int n, const char *color);

#endif
