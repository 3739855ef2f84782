/*
 * idp-rbac: ask the evaluator from the command line.
 *
 *   idp-rbac [-c CONFIG | -d STORE] [--json] check --tenant T --principal P
 *            --action A --scope S [--data] [--type user|group|app]
 *   idp-rbac [-c CONFIG | -d STORE] [--json] explain --tenant T --principal P
 *            [--scope S] [--type user|group|app]
 *
 * It opens the store read-only, loads the tenant's index exactly as the idp
 * does (rbac_store_load) and prints the decision with its reason, or the
 * effective permissions.  The principal is a user (UPN or id), a group
 * (name or id) or an app (client id or object id); --type says which when
 * a name could be more than one.  Exit codes: 0 allowed (or explained),
 * 5 denied, 2 usage error, 3 not found, 1 failure.
 */
#include "idp_config.h"
#include "log.h"
#include "rbac_store.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_NOT_FOUND = 3, CLI_DENIED = 5 };

static const char usage_text[] =
	"usage: idp-rbac [-c CONFIG | -d STORE] [--json] COMMAND ...\n"
	"\n"
	"  -c CONFIG   the idp's config file (default $IDP_CONFIG, else /etc/idp/idp.conf)\n"
	"  -d STORE    use this store file instead of the config's [store] path\n"
	"  --json      print the result as JSON\n"
	"\n"
	"commands:\n"
	"  check --tenant T --principal P --action A --scope S [--data]\n"
	"        [--type user|group|app]\n"
	"      may P do A at S?  Prints allow or deny and why.  --data: A is a data action.\n"
	"  explain --tenant T --principal P [--scope S] [--type user|group|app]\n"
	"      the role assignments and deny assignments that apply to P at S (at any\n"
	"      scope without --scope).\n"
	"\n"
	"P is a user (UPN or id), a group (name or id) or an app (client id or id).\n"
	"exit codes: 0 allowed (or explained), 5 denied, 2 usage error, 3 not found, 1 failed\n";

struct cli {
	struct dir *dir;
	struct dir_tenant tenant;
	int json;
	enum rbac_principal_type type;
	char id[DIR_ID_MAX];
	char label[DIR_UPN_MAX];
};

static int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int cli_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "idp-rbac: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(run 'idp-rbac --help' for usage)\n");
	return CLI_USAGE;
}

static int cli_fail(const struct err *err)
{
	fprintf(stderr, "idp-rbac: %s\n", err->msg);
	switch (err->code) {
	case ERR_NOT_FOUND:
		return CLI_NOT_FOUND;
	case ERR_INVALID:
		return CLI_USAGE;
	default:
		return CLI_FAIL;
	}
}

/* Resolve the principal: type (or -1 for any), then by name, then by id. */
static int cli_principal(struct cli *c, const char *p, int type)
{
	struct err err = {0};

	if (type < 0 || type == RBAC_PRINCIPAL_USER) {
		struct dir_user u;
		if (dir_user_get_by_upn(c->dir, c->tenant.id, p, &u, &err) == 0 ||
		    dir_user_get(c->dir, c->tenant.id, p, &u, &err) == 0) {
			c->type = RBAC_PRINCIPAL_USER;
			snprintf(c->id, sizeof(c->id), "%s", u.id);
			snprintf(c->label, sizeof(c->label), "%s", u.upn);
			return CLI_OK;
		}
	}
	if (type < 0 || type == RBAC_PRINCIPAL_GROUP) {
		struct dir_group g;
		if (dir_group_get_by_name(c->dir, c->tenant.id, p, &g, &err) == 0 ||
		    dir_group_get(c->dir, c->tenant.id, p, &g, &err) == 0) {
			c->type = RBAC_PRINCIPAL_GROUP;
			snprintf(c->id, sizeof(c->id), "%s", g.id);
			snprintf(c->label, sizeof(c->label), "%s", g.name);
			return CLI_OK;
		}
	}
	if (type < 0 || type == RBAC_PRINCIPAL_APP) {
		struct dir_app *a = malloc(sizeof(*a));
		int found = a != NULL &&
			    (dir_app_get_by_client_id(c->dir, c->tenant.id, p, a, &err) == 0 ||
			     dir_app_get(c->dir, c->tenant.id, p, a, &err) == 0);
		if (found) {
			c->type = RBAC_PRINCIPAL_APP;
			snprintf(c->id, sizeof(c->id), "%s", a->id);
			snprintf(c->label, sizeof(c->label), "%s", a->name);
		}
		free(a);
		if (found)
			return CLI_OK;
	}
	fprintf(stderr, "idp-rbac: no %s '%.200s' in tenant %s\n",
		type < 0 ? "user, group or app" : rbac_principal_type_name((enum rbac_principal_type)type),
		p, c->tenant.name);
	return CLI_NOT_FOUND;
}

/* A readable name for a principal id seen in a reason. */
static const char *cli_name(struct cli *c, enum rbac_principal_type t, const char *id, char *buf,
			    size_t cap)
{
	struct err err = {0};

	buf[0] = '\0';
	if (t == RBAC_PRINCIPAL_USER) {
		struct dir_user u;
		if (dir_user_get(c->dir, c->tenant.id, id, &u, &err) == 0)
			snprintf(buf, cap, "%s", u.upn);
	} else if (t == RBAC_PRINCIPAL_GROUP) {
		struct dir_group g;
		if (dir_group_get(c->dir, c->tenant.id, id, &g, &err) == 0)
			snprintf(buf, cap, "%s", g.name);
	} else if (t == RBAC_PRINCIPAL_APP) {
		struct dir_app *a = malloc(sizeof(*a));
		if (a != NULL && dir_app_get(c->dir, c->tenant.id, id, a, &err) == 0)
			snprintf(buf, cap, "%s", a->name);
		free(a);
	}
	return buf;
}

static json_t *cli_strings(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void cli_print_list(const char *label, const char *const *v, size_t n)
{
	if (n == 0)
		return;
	printf("    %-15s", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", v[i]);
	putchar('\n');
}

static void cli_dump(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
}

static int cli_check(struct cli *c, const struct rbac_index *idx, const char *action,
		     const char *scope, int data)
{
	struct rbac_request req = {c->type, c->id, action, scope, data};
	struct rbac_decision dec;
	struct err err = {0};
	char why[1024], via[DIR_UPN_MAX];

	if (rbac_check(idx, &req, &dec, &err) != 0)
		return cli_fail(&err);
	rbac_decision_text(&dec, why, sizeof(why));
	if (c->json) {
		json_t *j = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "allowed",
				      dec.allowed, "reason",
				      dec.reason == RBAC_REASON_ASSIGNMENT ? "assignment"
				      : dec.reason == RBAC_REASON_DENY     ? "deny_assignment"
									   : "no_grant",
				      "principal_type", rbac_principal_type_name(c->type),
				      "principal_id", c->id, "action", action, "scope", scope,
				      "data_action", data, "explanation", why);
		if (dec.reason == RBAC_REASON_ASSIGNMENT)
			json_object_set_new(
				j, "assignment",
				json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", dec.assignment_id,
					  "role_id", dec.role_id, "role_name", dec.role_name, "scope",
					  dec.assignment_scope, "principal_type",
					  rbac_principal_type_name(dec.via_type), "principal_id",
					  dec.via_id));
		if (dec.reason == RBAC_REASON_DENY)
			json_object_set_new(j, "deny_assignment",
					    json_pack("{s:s, s:s, s:s}", "id", dec.deny_id, "name",
						      dec.deny_name, "scope", dec.deny_scope));
		cli_dump(j);
	} else {
		printf("%s\n  %s\n", dec.allowed ? "allow" : "deny", why);
		if (dec.reason == RBAC_REASON_ASSIGNMENT &&
		    cli_name(c, dec.via_type, dec.via_id, via, sizeof(via))[0] != '\0')
			printf("  (%s %s is %s)\n", rbac_principal_type_name(dec.via_type), dec.via_id,
			       via);
	}
	return dec.allowed ? CLI_OK : CLI_DENIED;
}

struct cli_explain {
	struct cli *c;
	json_t *grants, *denies;
	int n_grants, n_denies;
};

static int cli_on_grant(void *ctx, const struct rbac_grant *g)
{
	struct cli_explain *e = ctx;
	char via[DIR_UPN_MAX];

	cli_name(e->c, g->via_type, g->via_id, via, sizeof(via));
	if (e->grants != NULL) {
		json_array_append_new(
			e->grants,
			json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:o}",
				  "assignment_id", g->assignment_id, "scope", g->scope, "role_id",
				  g->role_id, "role_name", g->role_name, "builtin", g->builtin,
				  "principal_type", rbac_principal_type_name(g->via_type),
				  "principal_id", g->via_id, "principal_name", via, "actions",
				  cli_strings(g->actions, g->n_actions), "not_actions",
				  cli_strings(g->not_actions, g->n_not_actions), "data_actions",
				  cli_strings(g->data_actions, g->n_data_actions),
				  "not_data_actions",
				  cli_strings(g->not_data_actions, g->n_not_data_actions)));
	} else {
		printf("  role '%s' (%s)%s at scope '%s'\n    assignment     %s\n    via            "
		       "%s %s%s%s%s\n",
		       g->role_name, g->role_id, g->builtin ? " built-in" : "", g->scope,
		       g->assignment_id, rbac_principal_type_name(g->via_type), g->via_id,
		       via[0] ? " (" : "", via, via[0] ? ")" : "");
		cli_print_list("actions", g->actions, g->n_actions);
		cli_print_list("notActions", g->not_actions, g->n_not_actions);
		cli_print_list("dataActions", g->data_actions, g->n_data_actions);
		cli_print_list("notDataActions", g->not_data_actions, g->n_not_data_actions);
	}
	e->n_grants++;
	return 0;
}

static int cli_on_deny(void *ctx, const struct rbac_deny_info *d)
{
	struct cli_explain *e = ctx;

	if (e->denies != NULL) {
		json_array_append_new(
			e->denies,
			json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", d->deny_id, "name",
				  d->name, "scope", d->scope, "actions",
				  cli_strings(d->actions, d->n_actions), "not_actions",
				  cli_strings(d->not_actions, d->n_not_actions), "data_actions",
				  cli_strings(d->data_actions, d->n_data_actions),
				  "not_data_actions",
				  cli_strings(d->not_data_actions, d->n_not_data_actions)));
	} else {
		if (e->n_denies == 0)
			printf("deny assignments that apply (they win over any role):\n");
		printf("  deny '%s' (%s) at scope '%s'\n", d->name, d->deny_id, d->scope);
		cli_print_list("actions", d->actions, d->n_actions);
		cli_print_list("notActions", d->not_actions, d->n_not_actions);
		cli_print_list("dataActions", d->data_actions, d->n_data_actions);
		cli_print_list("notDataActions", d->not_data_actions, d->n_not_data_actions);
	}
	e->n_denies++;
	return 0;
}

static int cli_explain(struct cli *c, const struct rbac_index *idx, const char *scope)
{
	struct cli_explain e = {c, NULL, NULL, 0, 0};
	struct err err = {0};
	int rc;

	if (c->json) {
		e.grants = json_array();
		e.denies = json_array();
	} else {
		printf("effective permissions of %s %s (%s) %s%s%s:\n",
		       rbac_principal_type_name(c->type), c->label, c->id,
		       scope != NULL ? "at scope '" : "at every scope", scope != NULL ? scope : "",
		       scope != NULL ? "'" : "");
	}
	rc = rbac_effective(idx, c->type, c->id, scope, cli_on_grant, cli_on_deny, &e, &err);
	if (rc != 0) {
		json_decref(e.grants);
		json_decref(e.denies);
		return cli_fail(&err);
	}
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o}", "principal_type",
				      rbac_principal_type_name(c->type), "principal_id", c->id,
				      "scope", scope != NULL ? scope : "*", "role_assignments",
				      e.grants, "deny_assignments", e.denies);
		cli_dump(j);
	} else if (e.n_grants == 0) {
		printf("  no role assignment applies: everything is denied\n");
	}
	return CLI_OK;
}

int main(int argc, char **argv)
{
	const char *config = getenv("IDP_CONFIG"), *store = NULL, *verb, *tenant = NULL;
	const char *principal = NULL, *action = NULL, *scope = NULL, *type_s = NULL;
	struct cli c = {0};
	struct idp_config cfg = {0};
	struct dir_options opts = {0};
	struct rbac_load_stats st;
	struct rbac_index *idx = NULL;
	struct err err = {0};
	int i, rc, data = 0, have_cfg = 0, type = -1;

	log_init("idp-rbac", LOG_LEVEL_WARN);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return CLI_OK;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			store = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			c.json = 1;
		} else {
			return cli_usage("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		fputs(usage_text, stderr);
		return CLI_USAGE;
	}
	verb = argv[i++];
	if (strcmp(verb, "check") != 0 && strcmp(verb, "explain") != 0)
		return cli_usage("unknown command '%s'", verb);
	for (; i < argc; i++) {
		const char *o = argv[i], **slot = NULL;
		if (strcmp(o, "--data") == 0) {
			data = 1;
			continue;
		}
		if (strcmp(o, "--tenant") == 0)
			slot = &tenant;
		else if (strcmp(o, "--principal") == 0)
			slot = &principal;
		else if (strcmp(o, "--action") == 0)
			slot = &action;
		else if (strcmp(o, "--scope") == 0)
			slot = &scope;
		else if (strcmp(o, "--type") == 0)
			slot = &type_s;
		if (slot == NULL)
			return cli_usage("unknown argument '%s'", o);
		if (i + 1 >= argc)
			return cli_usage("%s needs a value", o);
		if (*slot != NULL)
			return cli_usage("%s given twice", o);
		*slot = argv[++i];
	}
	if (tenant == NULL || principal == NULL)
		return cli_usage("%s needs --tenant and --principal", verb);
	if (strcmp(verb, "check") == 0 && (action == NULL || scope == NULL))
		return cli_usage("%s needs --action and --scope", verb);
	if (strcmp(verb, "explain") == 0 && (action != NULL || data))
		return cli_usage("%s takes no --action or --data", verb);
	if (type_s != NULL && ((type = rbac_principal_type_parse(type_s)) < 0 ||
			       type == RBAC_PRINCIPAL_EVERYONE))
		return cli_usage("--type is user, group or app, not '%s'", type_s);

	if (store == NULL || config != NULL) {
		if (config == NULL)
			config = "/etc/idp/idp.conf";
		if (idp_config_load(config, &cfg, &err) != 0) {
			if (store == NULL)
				return cli_fail(&err);
		} else {
			have_cfg = 1;
			opts.busy_timeout_ms = (int)cfg.busy_timeout_ms;
		}
	}
	opts.path = store != NULL ? store : cfg.store_path;
	opts.read_only = 1;
	if ((c.dir = dir_open(&opts, &err)) == NULL) {
		rc = cli_fail(&err);
		goto out;
	}
	if (dir_tenant_get_by_name(c.dir, tenant, &c.tenant, &err) != 0 &&
	    dir_tenant_get(c.dir, tenant, &c.tenant, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if ((rc = cli_principal(&c, principal, type)) != CLI_OK)
		goto out;
	if ((idx = rbac_store_load(c.dir, c.tenant.id, &st, &err)) == NULL) {
		rc = cli_fail(&err);
		goto out;
	}
	if (st.skipped > 0)
		fprintf(stderr, "idp-rbac: warning: %zu malformed row(s) ignored (they grant "
				"nothing); first: %s\n",
			st.skipped, st.first_skip);
	if (strcmp(verb, "check") == 0)
		rc = cli_check(&c, idx, action, scope, data);
	else
		rc = cli_explain(&c, idx, scope);
out:
	rbac_index_free(idx);
	dir_close(c.dir);
	if (have_cfg)
		idp_config_free(&cfg);
	if (fflush(stdout) != 0 && rc == CLI_OK)
		rc = CLI_FAIL;
	return rc;
}
