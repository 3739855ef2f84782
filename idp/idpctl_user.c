/*
 * idpctl_user: the "user" commands.
 */
#include "idpctl.h"

#include "admin.h" /* one JSON shape of a user, in the API and here */

#include "risk.h"
#include "secret.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

static void user_print(struct ctl *c, const struct dir_user *u)
{
	char t1[32], t2[32], t3[32];

	if (c->json) {
		json_t *j = admin_user_json(u);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
		return;
	}
	printf("id:            %s\n"
	       "upn:           %s\n"
	       "display name:  %s\n"
	       "given name:    %s\n"
	       "surname:       %s\n"
	       "mail:          %s\n"
	       "enabled:       %s\n"
	       "mfa required:  %s\n"
	       "source:        %s%s%s\n"
	       "source dn:     %s\n"
	       "password:      %s\n"
	       "created:       %s\n"
	       "updated:       %s\n"
	       "deleted:       %s\n",
	       u->id, u->upn, u->display_name, u->given_name, u->surname, u->mail,
	       u->enabled ? "yes" : "no", u->mfa_required ? "yes" : "no",
	       u->source == DIR_SOURCE_LDAP ? "ldap" : "cloud", u->source_anchor[0] ? " " : "",
	       u->source_anchor, u->source_dn[0] ? u->source_dn : "-",
	       u->has_password ? "set" : "none", ctl_time(u->created_at, t1, sizeof(t1)),
	       ctl_time(u->updated_at, t2, sizeof(t2)), ctl_time(u->deleted_at, t3, sizeof(t3)));
}

/* Find a user by UPN, else by id (deleted ones too, so they can be restored). */
static int user_find(struct ctl *c, const char *tenant_id, const char *who, struct dir_user *u)
{
	struct err err = {0};

	if (dir_user_get_by_upn(c->dir, tenant_id, who, u, &err) == 0)
		return CTL_OK;
	if (err.code == ERR_NOT_FOUND && dir_user_get(c->dir, tenant_id, who, u, &err) == 0)
		return CTL_OK;
	if (err.code == ERR_NOT_FOUND)
		snprintf(err.msg, sizeof(err.msg), "no user '%.200s' in this tenant", who);
	return ctl_fail(c, &err);
}

static int user_create(struct ctl *c, const struct dir_tenant *t, struct ctl_args *a)
{
	struct dir_user u = {0};
	const char *v;
	char password[DIR_PASSWORD_MAX + 2] = "";
	struct err err = {0};
	int rc, no_password;

	u.enabled = 1;
	u.source = DIR_SOURCE_CLOUD;
	snprintf(u.upn, sizeof(u.upn), "%s", ctl_pos(a, 0) ? ctl_pos(a, 0) : "");
	if (strlen(ctl_pos(a, 0) ? ctl_pos(a, 0) : "") >= sizeof(u.upn))
		return ctl_usage_error(c, "user principal name longer than %zu bytes",
				       sizeof(u.upn) - 1);
	if ((v = ctl_opt(a, "--display-name")) != NULL)
		snprintf(u.display_name, sizeof(u.display_name), "%s", v);
	if ((v = ctl_opt(a, "--given-name")) != NULL)
		snprintf(u.given_name, sizeof(u.given_name), "%s", v);
	if ((v = ctl_opt(a, "--surname")) != NULL)
		snprintf(u.surname, sizeof(u.surname), "%s", v);
	if ((v = ctl_opt(a, "--mail")) != NULL)
		snprintf(u.mail, sizeof(u.mail), "%s", v);
	u.mfa_required = ctl_flag(a, "--mfa-required");
	no_password = ctl_flag(a, "--no-password");
	if (!no_password && (rc = ctl_password(c, a, password, sizeof(password))) != CTL_OK)
		return rc;
	if ((rc = ctl_args_done(c, a, 1)) != CTL_OK)
		goto out;
	if (dir_user_create(c->dir, t->id, &u, no_password ? NULL : password, &err) != 0) {
		rc = ctl_fail(c, &err);
		goto out;
	}
	ctl_audit(c, t->id, "user.create", "user", u.id, "created cloud user");
	if (c->json)
		user_print(c, &u);
	else
		printf("created user %s (%s)\n", u.upn, u.id);
	rc = CTL_OK;
out:
	secret_wipe(password, sizeof(password));
	return rc;
}

struct user_list_ctx {
	struct ctl *c;
	json_t *arr;
	int n;
};

static int user_list_row(void *ctx, const struct dir_user *u)
{
	struct user_list_ctx *l = ctx;

	if (l->arr != NULL) {
		json_array_append_new(l->arr, admin_user_json(u));
	} else {
		if (l->n == 0)
			printf("%-36s  %-32s  %-24s  %-6s  %s\n", "ID", "UPN", "DISPLAY NAME",
			       "SOURCE", "STATE");
		printf("%-36s  %-32s  %-24s  %-6s  %s\n", u->id, u->upn, u->display_name,
		       u->source == DIR_SOURCE_LDAP ? "ldap" : "cloud",
		       u->deleted_at ? "deleted" : u->enabled ? "enabled" : "disabled");
	}
	l->n++;
	return 0;
}

static int user_list(struct ctl *c, const struct dir_tenant *t, struct ctl_args *a)
{
	struct user_list_ctx l = {c, c->json ? json_array() : NULL, 0};
	struct dir_user_query q = {NULL, 0, 0, -1, NULL};
	const char *limit;
	struct err err = {0};
	int rc;

	q.include_deleted = ctl_flag(a, "--deleted");
	q.after_upn = ctl_opt(a, "--after");
	if ((limit = ctl_opt(a, "--limit")) != NULL) {
		char *end;
		long n = strtol(limit, &end, 10);
		if (*end != '\0' || n < 1 || n > 1000000)
			return ctl_usage_error(c, "--limit must be 1..1000000");
		q.limit = (int)n;
	}
	if ((rc = ctl_args_done(c, a, 0)) != CTL_OK)
		return rc;
	if (dir_user_list(c->dir, t->id, &q, user_list_row, &l, &err) != 0) {
		json_decref(l.arr);
		return ctl_fail(c, &err);
	}
	if (l.arr != NULL) {
		json_dumpf(l.arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(l.arr);
	} else if (l.n == 0) {
		printf("no users\n");
	}
	return CTL_OK;
}

static int user_group_row(void *ctx, const struct dir_group *g)
{
	struct user_list_ctx *l = ctx;

	if (l->arr != NULL)
		json_array_append_new(l->arr, json_pack("{s:s, s:s}", "id", g->id, "name", g->name));
	else
		printf("%-36s  %s\n", g->id, g->name);
	l->n++;
	return 0;
}

int ctl_cmd_user(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	struct dir_user u;
	struct err err = {0};
	const char *verb = argc > 0 ? argv[0] : "";
	int rc;

	if (argc < 2)
		return ctl_usage_error(c, "user: which command, and which tenant?");
	if (ctl_args_init(&a, argc - 2, argv + 2) != 0)
		return CTL_FAIL;
	if ((rc = ctl_tenant(c, argv[1], &t)) != CTL_OK)
		goto out;
	if (strcmp(verb, "create") == 0) {
		rc = user_create(c, &t, &a);
		goto out;
	}
	if (strcmp(verb, "list") == 0) {
		rc = user_list(c, &t, &a);
		goto out;
	}
	if (ctl_pos(&a, 0) == NULL) {
		rc = ctl_usage_error(c, "user %s: which user?", verb);
		goto out;
	}
	if ((rc = user_find(c, t.id, ctl_pos(&a, 0), &u)) != CTL_OK)
		goto out;
	if (strcmp(verb, "show") == 0) {
		if ((rc = ctl_args_done(c, &a, 1)) == CTL_OK)
			user_print(c, &u);
	} else if (strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0) {
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		u.enabled = strcmp(verb, "enable") == 0;
		if (dir_user_update(c->dir, t.id, &u, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		ctl_audit(c, t.id, u.enabled ? "user.enable" : "user.disable", "user", u.id,
			  u.enabled ? "enabled" : "disabled");
		printf("%s %s\n", u.enabled ? "enabled" : "disabled", u.upn);
	} else if (strcmp(verb, "set-password") == 0) {
		char password[DIR_PASSWORD_MAX + 2] = "";
		if ((rc = ctl_password(c, &a, password, sizeof(password))) == CTL_OK &&
		    (rc = ctl_args_done(c, &a, 1)) == CTL_OK) {
			char actor[DIR_UPN_MAX];
			ctl_actor(actor, sizeof(actor));
			/* a confirmed compromise is remediated by this (risk_admin.c) */
			if (risk_password_reset(c->dir, t.id, u.id, password, actor, "",
						(int64_t)time(NULL), &err) != 0) {
				rc = ctl_fail(c, &err);
			} else {
				ctl_audit(c, t.id, "user.set_password", "user", u.id,
					  "password set");
				printf("password set for %s\n", u.upn);
			}
		}
		secret_wipe(password, sizeof(password));
	} else if (strcmp(verb, "delete") == 0) {
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (dir_user_soft_delete(c->dir, t.id, u.id, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		ctl_audit(c, t.id, "user.delete", "user", u.id, "soft-deleted");
		printf("deleted %s (restore with: user restore %s %s)\n", u.upn, t.name, u.id);
	} else if (strcmp(verb, "restore") == 0) {
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (dir_user_restore(c->dir, t.id, u.id, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		ctl_audit(c, t.id, "user.restore", "user", u.id, "restored");
		printf("restored %s\n", u.upn);
	} else if (strcmp(verb, "purge") == 0) {
		if (!ctl_flag(&a, "--yes")) {
			rc = ctl_usage_error(c, "purging erases the user for good: add --yes");
			goto out;
		}
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (dir_user_purge(c->dir, t.id, u.id, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		/* The record names the id only: the name is what was erased. */
		ctl_audit(c, t.id, "user.purge", "user", u.id, "purged");
		printf("purged user %s\n", u.id);
	} else if (strcmp(verb, "groups") == 0) {
		struct user_list_ctx l = {c, c->json ? json_array() : NULL, 0};
		if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
			goto out;
		if (dir_member_of(c->dir, t.id, DIR_MEMBER_USER, u.id, user_group_row, &l, &err)) {
			json_decref(l.arr);
			rc = ctl_fail(c, &err);
			goto out;
		}
		if (l.arr != NULL) {
			json_dumpf(l.arr, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(l.arr);
		} else if (l.n == 0) {
			printf("member of no group\n");
		}
	} else {
		rc = ctl_usage_error(c, "unknown user command '%s'", verb);
	}
out:
	ctl_args_free(&a);
	return rc;
}
