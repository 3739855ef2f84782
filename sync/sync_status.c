/*
 * sync_status: idp-sync --status, the connector's state and its last
 * cycles as a table.
 */
#include "dir.h"
#include "err.h"
#include "sync_config.h"
#include "sync_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sync_status_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(out, cap, "-");
	else
		strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int sync_status_row(void *ctx, const struct dir_sync_cycle *c)
{
	char started[32], secs[16];

	(void)ctx;
	sync_status_time(c->started_at, started, sizeof(started));
	if (c->finished_at != 0)
		snprintf(secs, sizeof(secs), "%lld", (long long)(c->finished_at - c->started_at));
	else
		snprintf(secs, sizeof(secs), "-");
	printf("%6lld  %-7s  %-20s  %5s  %8lld  %8lld  %8lld  %9lld  %6lld  %-11s  %s\n",
	       (long long)c->id, c->kind, started, secs, (long long)c->added,
	       (long long)c->updated, (long long)c->deleted, (long long)c->unchanged,
	       (long long)c->errors, c->status, c->message);
	return 0;
}

int sync_status(const struct sync_config *cfg, int n, struct err *err)
{
	struct dir_options o = {0};
	struct dir_tenant t;
	struct dir *d;
	char *cookie = NULL, full[32];
	int64_t last_full = 0;
	int rc;

	o.path = cfg->store_path;
	o.busy_timeout_ms = (int)cfg->busy_timeout_ms;
	if ((d = dir_open(&o, err)) == NULL)
		return err->code;
	if ((rc = dir_tenant_get_by_name(d, cfg->tenant, &t, err)) != 0) {
		err_prefix(err, "[store] tenant");
		goto out;
	}
	rc = dir_sync_state_get(d, t.id, cfg->connector, &cookie, &last_full, err);
	if (rc != 0 && rc != ERR_NOT_FOUND)
		goto out;
	sync_status_time(last_full, full, sizeof(full));
	printf("connector '%s' of tenant '%s' from %s\n", cfg->connector, cfg->tenant, cfg->uri);
	printf("  state: %s; last full sync completed: %s\n",
	       rc == ERR_NOT_FOUND ? "never synced (the next cycle is a full sync)"
	       : cookie != NULL    ? "cookie stored (the next cycle resumes with a delta)"
				   : "no cookie (the next cycle is a full sync)",
	       full);
	printf("\n%6s  %-7s  %-20s  %5s  %8s  %8s  %8s  %9s  %6s  %-11s  %s\n", "cycle", "kind",
	       "started (UTC)", "secs", "added", "updated", "deleted", "unchanged", "errors",
	       "status", "message");
	rc = dir_sync_cycle_list(d, t.id, cfg->connector, n, sync_status_row, NULL, err);
out:
	free(cookie);
	dir_close(d);
	return rc;
}
