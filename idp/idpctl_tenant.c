/*
 * idpctl_tenant: the "tenant", "export", "import" and "audit" commands.
 */
#include "idpctl.h"

#include "rbac_store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *tenant_json(const struct dir_tenant *t)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:I, s:I}", "id", t->id, "name", t->name,
			 "display_name", t->display_name, "mfa_required", t->mfa_required,
			 "created_at", (json_int_t)t->created_at, "updated_at",
			 (json_int_t)t->updated_at);
}

struct tenant_ctx {
	json_t *arr;
	int n;
};

static int tenant_row(void *ctx, const struct dir_tenant *t)
{
	struct tenant_ctx *l = ctx;
	char when[32];

	if (l->arr != NULL) {
		json_array_append_new(l->arr, tenant_json(t));
	} else {
		if (l->n == 0)
			printf("%-24s  %-36s  %-20s  %s\n", "NAME", "ID", "CREATED", "DISPLAY NAME");
		printf("%-24s  %-36s  %-20s  %s\n", t->name, t->id,
		       ctl_time(t->created_at, when, sizeof(when)), t->display_name);
	}
	l->n++;
	return 0;
}

int ctl_cmd_tenant(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t = {0};
	struct err err = {0};
	const char *verb = argc > 0 ? argv[0] : "";
	int rc = CTL_OK;

	if (argc < 1)
		return ctl_usage_error(c, "tenant: which command?");
	if (ctl_args_init(&a, argc - 1, argv + 1) != 0)
		return CTL_FAIL;
	if (strcmp(verb, "create") == 0) {
		const char *display = ctl_opt(&a, "--display-name");
		t.mfa_required = ctl_flag(&a, "--mfa-required");
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (strlen(ctl_pos(&a, 0)) >= sizeof(t.name) ||
		    (display != NULL && strlen(display) >= sizeof(t.display_name))) {
			rc = ctl_usage_error(c, "tenant name or display name too long");
			goto out;
		}
		snprintf(t.name, sizeof(t.name), "%s", ctl_pos(&a, 0));
		snprintf(t.display_name, sizeof(t.display_name), "%s", display ? display : "");
		if (dir_tenant_create(c->dir, &t, &err) != 0 ||
		    rbac_store_seed_builtins(c->dir, t.id, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		ctl_audit(c, t.id, "tenant.create", "tenant", t.id, "created");
		if (c->json) {
			json_t *j = tenant_json(&t);
			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(j);
		} else {
			printf("created tenant %s (%s)\n", t.name, t.id);
		}
	} else if (strcmp(verb, "list") == 0) {
		struct tenant_ctx l = {c->json ? json_array() : NULL, 0};
		if ((rc = ctl_args_done(c, &a, 0)) != CTL_OK)
			goto out;
		if (dir_tenant_list(c->dir, tenant_row, &l, &err) != 0) {
			json_decref(l.arr);
			rc = ctl_fail(c, &err);
			goto out;
		}
		if (l.arr != NULL) {
			json_dumpf(l.arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(l.arr);
		} else if (l.n == 0) {
			printf("no tenants\n");
		}
	} else if (strcmp(verb, "show") == 0) {
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK ||
		    (rc = ctl_tenant(c, ctl_pos(&a, 0), &t)) != CTL_OK)
			goto out;
		json_t *j = tenant_json(&t);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
	} else if (strcmp(verb, "delete") == 0) {
		int yes = ctl_flag(&a, "--yes");
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK ||
		    (rc = ctl_tenant(c, ctl_pos(&a, 0), &t)) != CTL_OK)
			goto out;
		if (!yes) {
			rc = ctl_usage_error(c, "deleting a tenant erases all of its data for good: "
						"add --yes");
			goto out;
		}
		if (dir_tenant_purge(c->dir, t.id, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		printf("deleted tenant %s and all its data\n", t.name);
	} else {
		rc = ctl_usage_error(c, "unknown tenant command '%s'", verb);
	}
out:
	ctl_args_free(&a);
	return rc;
}

static int export_write(void *ctx, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, ctx) == len ? 0 : -1;
}

int ctl_cmd_export(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	struct err err = {0};
	const char *path;
	FILE *out = stdout;
	int rc;

	if (ctl_args_init(&a, argc, argv) != 0)
		return CTL_FAIL;
	path = ctl_opt(&a, "--output");
	if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK ||
	    (rc = ctl_tenant(c, ctl_pos(&a, 0), &t)) != CTL_OK)
		goto out;
	if (path != NULL) {
		/* The export holds password hashes: owner-only from the first byte. */
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "%s: %s: %s\n", c->me, path, strerror(errno));
			if (fd >= 0)
				close(fd);
			rc = CTL_FAIL;
			goto out;
		}
	}
	if (dir_export_tenant(c->dir, t.id, export_write, out, &err) != 0)
		rc = ctl_fail(c, &err);
	else
		ctl_audit(c, t.id, "tenant.export", "tenant", t.id,
			  path != NULL ? "exported to a file" : "exported to standard output");
	if (out != stdout && fclose(out) != 0 && rc == CTL_OK) {
		fprintf(stderr, "%s: %s: %s\n", c->me, path, strerror(errno));
		rc = CTL_FAIL;
	}
out:
	ctl_args_free(&a);
	return rc;
}

int ctl_cmd_import(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct err err = {0};
	char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *in = NULL;
	int rc;

	if (ctl_args_init(&a, argc, argv) != 0)
		return CTL_FAIL;
	if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
		goto out;
	in = strcmp(ctl_pos(&a, 0), "-") == 0 ? stdin : fopen(ctl_pos(&a, 0), "re");
	if (in == NULL) {
		fprintf(stderr, "%s: %s: %s\n", c->me, ctl_pos(&a, 0), strerror(errno));
		rc = CTL_FAIL;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			char *more = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (more == NULL) {
				fprintf(stderr, "%s: out of memory\n", c->me);
				rc = CTL_FAIL;
				goto out;
			}
			buf = more;
		}
		size_t got = fread(buf + len, 1, cap - len, in);
		if (got == 0)
			break;
		len += got;
	}
	if (ferror(in)) {
		fprintf(stderr, "%s: %s: read error\n", c->me, ctl_pos(&a, 0));
		rc = CTL_FAIL;
		goto out;
	}
	if (dir_import_tenant(c->dir, buf, len, &err) != 0) {
		rc = ctl_fail(c, &err);
		goto out;
	}
	printf("imported\n");
out:
	if (in != NULL && in != stdin)
		fclose(in);
	free(buf);
	ctl_args_free(&a);
	return rc;
}

struct audit_ctx {
	json_t *arr;
	int n;
};

static int audit_row(void *ctx, const struct dir_audit *r)
{
	struct audit_ctx *l = ctx;
	char when[32];

	if (l->arr != NULL) {
		json_array_append_new(
			l->arr, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
					  (json_int_t)r->id, "time", (json_int_t)r->time, "actor",
					  r->actor, "action", r->action, "target_type",
					  r->target_type, "target_id", r->target_id, "summary",
					  r->summary, "ip", r->ip));
	} else {
		if (l->n == 0)
			printf("%-6s  %-20s  %-24s  %-20s  %-36s  %s\n", "ID", "TIME", "ACTOR",
			       "ACTION", "TARGET", "SUMMARY");
		printf("%-6lld  %-20s  %-24s  %-20s  %-36s  %s\n", (long long)r->id,
		       ctl_time(r->time, when, sizeof(when)), r->actor, r->action, r->target_id,
		       r->summary);
	}
	l->n++;
	return 0;
}

int ctl_cmd_audit(struct ctl *c, int argc, char **argv)
{
	struct audit_ctx l = {c->json ? json_array() : NULL, 0};
	struct ctl_args a;
	struct dir_tenant t;
	struct err err = {0};
	const char *after, *limit;
	long long after_id = 0, n = 0;
	int rc;

	if (ctl_args_init(&a, argc, argv) != 0)
		return CTL_FAIL;
	after = ctl_opt(&a, "--after");
	limit = ctl_opt(&a, "--limit");
	if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK ||
	    (rc = ctl_tenant(c, ctl_pos(&a, 0), &t)) != CTL_OK)
		goto out;
	if ((after != NULL && (after_id = strtoll(after, NULL, 10)) < 0) ||
	    (limit != NULL && ((n = strtoll(limit, NULL, 10)) < 1 || n > 1000000))) {
		rc = ctl_usage_error(c, "--after takes a record id, --limit 1..1000000");
		goto out;
	}
	if (dir_audit_list(c->dir, t.id, after_id, (int)n, audit_row, &l, &err) != 0) {
		rc = ctl_fail(c, &err);
		goto out;
	}
	if (l.arr != NULL) {
		json_dumpf(l.arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else if (l.n == 0) {
		printf("no audit records\n");
	}
out:
	json_decref(l.arr);
	ctl_args_free(&a);
	return rc;
}
