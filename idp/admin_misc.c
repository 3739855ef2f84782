/*
 * admin_misc: the rest of the admin API: the audit log, the tenant's
 * export (streamed), and the dispatch of /{tenant}/admin/... to the files
 * that handle each kind of object.
 */
#define _GNU_SOURCE /* pipe2 */
#include "admin.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int audit_row(void *ctx, const struct dir_audit *a)
{
	json_array_append_new(ctx, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
					     (json_int_t)a->id, "time", (json_int_t)a->time,
					     "actor", a->actor, "action", a->action, "targetType",
					     a->target_type, "targetId", a->target_id, "summary",
					     a->summary, "ip", a->ip));
	return 0;
}

static void admin_audit_list(struct idp_req *r)
{
	const char *after = http_param(&r->http->query, "after", NULL);
	int limit = api_limit(r);
	json_t *arr = json_array();
	struct err err = {0};
	char *end = NULL;
	long long after_id = after != NULL ? strtoll(after, &end, 10) : 0;

	if (limit < 0 || (after != NULL && (*after == '\0' || *end != '\0' || after_id < 0))) {
		json_decref(arr);
		api_error(r, 400, "invalid_parameter", "after is a record id, limit 1..1000");
		return;
	}
	if (dir_audit_list(r->dir, r->tenant.id, after_id, limit, audit_row, arr, &err) != 0) {
		json_decref(arr);
		api_store_error(r, &err);
		return;
	}
	api_reply(r, 200, json_pack("{s:o}", "value", arr));
}

struct export_job {
	struct dir_options opts;
	char tenant_id[DIR_ID_MAX];
	int fd;
};

static int export_write(void *ctx, const char *buf, size_t len)
{
	int fd = *(int *)ctx;

	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* the client went away: stop reading the store */
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The export runs on its own thread and connection, writing into the pipe MHD reads. */
static void *export_thread(void *arg)
{
	struct export_job *job = arg;
	struct err err = {0};
	struct dir *d = dir_open(&job->opts, &err);

	if (d == NULL || dir_export_tenant(d, job->tenant_id, export_write, &job->fd, &err) != 0)
		log_warnx("export of tenant %s: %s", job->tenant_id, err.msg);
	dir_close(d);
	close(job->fd);
	free(job);
	return NULL;
}

static void admin_export(struct idp_req *r, const struct admin_caller *who)
{
	struct export_job *job = calloc(1, sizeof(*job));
	pthread_attr_t attr;
	pthread_t t;
	int fds[2];

	if (job == NULL || pipe2(fds, O_CLOEXEC) != 0) {
		free(job);
		api_error(r, 503, "unavailable", "cannot start the export");
		return;
	}
	job->opts = r->idp->dir_opts;
	snprintf(job->tenant_id, sizeof(job->tenant_id), "%s", r->tenant.id);
	job->fd = fds[1];
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, export_thread, job) != 0) {
		pthread_attr_destroy(&attr);
		close(fds[0]);
		close(fds[1]);
		free(job);
		api_error(r, 503, "unavailable", "cannot start the export");
		return;
	}
	pthread_attr_destroy(&attr);
	admin_audit(r, who, "tenant.export", "tenant", r->tenant.id, "exported through the API");
	r->resp->stream_fd = fds[0];
	r->resp->content_type = "application/json";
	http_resp_header(r->resp, "Cache-Control", "no-store");
	http_resp_header(r->resp, "Content-Disposition", "attachment; filename=\"export.json\"");
}

void admin_misc(struct idp_req *r, const char *path)
{
	struct admin_caller who;

	if (strcmp(path, "/admin/auditLogs") == 0 && strcmp(r->http->method, "GET") == 0) {
		if (admin_authorize(r, "idp/auditLogs/read", "/", &who) == 0)
			admin_audit_list(r);
	} else if (strcmp(path, "/admin/export") == 0 && strcmp(r->http->method, "GET") == 0) {
		if (admin_authorize(r, "idp/tenant/export", "/", &who) == 0)
			admin_export(r, &who);
	} else {
		api_error(r, 404, "not_found", "no such endpoint");
	}
}

void admin_dispatch(struct idp_req *r)
{
	const char *p = r->sub;

	if (strncmp(p, "/admin/users", 12) == 0 && (p[12] == '\0' || p[12] == '/'))
		admin_users(r, p);
	else if (strncmp(p, "/admin/groups", 13) == 0 && (p[13] == '\0' || p[13] == '/'))
		admin_groups(r, p);
	else if (strncmp(p, "/admin/apps", 11) == 0 && (p[11] == '\0' || p[11] == '/'))
		admin_apps(r, p);
	else if (strncmp(p, "/admin/role", 11) == 0 || strncmp(p, "/admin/deny", 11) == 0)
		admin_roles(r, p);
	else
		admin_misc(r, p);
}
