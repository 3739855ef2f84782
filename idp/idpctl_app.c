/*
 * idpctl_app: registering applications and rotating their secrets.
 *
 * Client secrets are made here from 256 random bits and shown once; the
 * store keeps only their SHA-256.  A slow hash would add nothing to a
 * secret this strong and would cap the token endpoint's grant rate.
 */
#include "idpctl.h"

#include "rand.h"
#include "secret.h"

#include <jansson.h>
#include <string.h>

static const char *const app_grant_names[] = {"authorization_code", "refresh_token",
					      "client_credentials"};

static json_t *app_json(const struct dir_app *a)
{
	json_t *uris = json_array(), *grants = json_array();

	for (int i = 0; i < a->n_redirect_uris; i++)
		json_array_append_new(uris, json_string(a->redirect_uris[i]));
	for (int i = 0; i < 3; i++)
		if (a->grants & (1u << i))
			json_array_append_new(grants, json_string(app_grant_names[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:s, s:I}", "id", a->id, "client_id",
			 a->client_id, "name", a->name, "type",
			 a->confidential ? "confidential" : "public", "redirect_uris", uris,
			 "grants", grants, "mfa_required", a->mfa_required, "token_alg",
			 a->token_alg, "created_at", (json_int_t)a->created_at);
}

static void app_print(struct ctl *c, const struct dir_app *a, const char *secret)
{
	json_t *j = app_json(a);

	if (secret != NULL)
		json_object_set_new(j, "client_secret", json_string(secret));
	if (c->json) {
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		printf("name:          %s\nclient id:     %s\ntype:          %s\n", a->name,
		       a->client_id, a->confidential ? "confidential" : "public");
		for (int i = 0; i < a->n_redirect_uris; i++)
			printf("redirect uri:  %s\n", a->redirect_uris[i]);
		printf("grants:       ");
		for (int i = 0; i < 3; i++)
			if (a->grants & (1u << i))
				printf(" %s", app_grant_names[i]);
		printf("\nmfa required:  %s\ntoken alg:     %s\n", a->mfa_required ? "yes" : "no",
		       a->token_alg);
		if (secret != NULL)
			printf("client secret: %s\n(shown once: store it now)\n", secret);
	}
	json_decref(j);
}

/* A fresh secret into secret (shown to the admin) and its digest into hash. */
static int app_new_secret(char secret[64], char hash[DIR_HASH_MAX])
{
	if (rand_token(secret, 64, 32) != 0)
		return -1;
	secret_sha256_hex(secret, hash);
	return 0;
}

static int app_create(struct ctl *c, const struct dir_tenant *t, struct ctl_args *a)
{
	struct dir_app app;
	const char *v;
	char secret[64] = "";
	struct err err = {0};
	int rc;

	memset(&app, 0, sizeof(app));
	app.confidential = !ctl_flag(a, "--public");
	app.mfa_required = ctl_flag(a, "--mfa-required");
	while ((v = ctl_opt(a, "--redirect-uri")) != NULL) {
		if (app.n_redirect_uris == DIR_APP_URIS_MAX || strlen(v) >= DIR_URI_MAX)
			return ctl_usage_error(c, "at most %d redirect URIs of %d bytes",
					       DIR_APP_URIS_MAX, DIR_URI_MAX - 1);
		snprintf(app.redirect_uris[app.n_redirect_uris++], DIR_URI_MAX, "%s", v);
	}
	while ((v = ctl_opt(a, "--grant")) != NULL) {
		int known = 0;
		for (int i = 0; i < 3; i++)
			if (strcmp(v, app_grant_names[i]) == 0) {
				app.grants |= 1u << i;
				known = 1;
			}
		if (!known)
			return ctl_usage_error(c, "unknown grant '%s' (authorization_code, "
						  "refresh_token, client_credentials)",
					       v);
	}
	if (app.grants == 0)
		app.grants = DIR_GRANT_AUTHORIZATION_CODE | DIR_GRANT_REFRESH_TOKEN;
	if ((v = ctl_opt(a, "--alg")) != NULL)
		snprintf(app.token_alg, sizeof(app.token_alg), "%s", v);
	if ((rc = ctl_args_done(c, a, 1)) != CTL_OK)
		return rc;
	if (strlen(ctl_pos(a, 0)) >= sizeof(app.name))
		return ctl_usage_error(c, "app name too long");
	snprintf(app.name, sizeof(app.name), "%s", ctl_pos(a, 0));
	if (app.confidential && app_new_secret(secret, app.secret_hash) != 0)
		return ctl_usage_error(c, "the kernel's random source failed");
	if (dir_app_create(c->dir, t->id, &app, &err) != 0) {
		secret_wipe(secret, sizeof(secret));
		return ctl_fail(c, &err);
	}
	ctl_audit(c, t->id, "app.create", "app", app.id, "registered");
	app_print(c, &app, app.confidential ? secret : NULL);
	secret_wipe(secret, sizeof(secret));
	return CTL_OK;
}

struct app_ctx {
	json_t *arr;
	int n;
};

static int app_row(void *ctx, const struct dir_app *a)
{
	struct app_ctx *l = ctx;

	if (l->arr != NULL) {
		json_array_append_new(l->arr, app_json(a));
	} else {
		if (l->n == 0)
			printf("%-36s  %-24s  %-12s  %s\n", "CLIENT ID", "NAME", "TYPE", "GRANTS");
		printf("%-36s  %-24s  %-12s ", a->client_id, a->name,
		       a->confidential ? "confidential" : "public");
		for (int i = 0; i < 3; i++)
			if (a->grants & (1u << i))
				printf(" %s", app_grant_names[i]);
		putchar('\n');
	}
	l->n++;
	return 0;
}

int ctl_cmd_app(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	struct dir_app app;
	struct err err = {0};
	const char *verb = argc > 0 ? argv[0] : "";
	int rc;

	if (argc < 2)
		return ctl_usage_error(c, "app: which command, and which tenant?");
	if (ctl_args_init(&a, argc - 2, argv + 2) != 0)
		return CTL_FAIL;
	if ((rc = ctl_tenant(c, argv[1], &t)) != CTL_OK)
		goto out;
	if (strcmp(verb, "create") == 0) {
		rc = app_create(c, &t, &a);
		goto out;
	}
	if (strcmp(verb, "list") == 0) {
		struct app_ctx l = {c->json ? json_array() : NULL, 0};
		if ((rc = ctl_args_done(c, &a, 0)) != CTL_OK)
			goto out;
		if (dir_app_list(c->dir, t.id, app_row, &l, &err) != 0) {
			json_decref(l.arr);
			rc = ctl_fail(c, &err);
			goto out;
		}
		if (l.arr != NULL) {
			json_dumpf(l.arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(l.arr);
		} else if (l.n == 0) {
			printf("no apps\n");
		}
		goto out;
	}
	if ((rc = ctl_args_done(c, &a, 1)) != CTL_OK)
		goto out;
	if (dir_app_get_by_client_id(c->dir, t.id, ctl_pos(&a, 0), &app, &err) != 0) {
		rc = ctl_fail(c, &err);
		goto out;
	}
	if (strcmp(verb, "show") == 0) {
		app_print(c, &app, NULL);
	} else if (strcmp(verb, "delete") == 0) {
		if (dir_app_delete(c->dir, t.id, app.id, &err) != 0) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		ctl_audit(c, t.id, "app.delete", "app", app.id, "deleted");
		printf("deleted app %s\n", app.client_id);
	} else if (strcmp(verb, "rotate-secret") == 0) {
		char secret[64], hash[DIR_HASH_MAX];
		if (!app.confidential) {
			rc = ctl_usage_error(c, "a public app has no secret");
			goto out;
		}
		if (app_new_secret(secret, hash) != 0 ||
		    dir_app_set_secret_hash(c->dir, t.id, app.id, hash, &err) != 0) {
			secret_wipe(secret, sizeof(secret));
			rc = ctl_fail(c, &err);
			goto out;
		}
		ctl_audit(c, t.id, "app.rotate_secret", "app", app.id, "secret rotated");
		if (c->json)
			printf("{\"client_id\": \"%s\", \"client_secret\": \"%s\"}\n",
			       app.client_id, secret);
		else
			printf("client secret: %s\n(shown once: store it now)\n", secret);
		secret_wipe(secret, sizeof(secret));
	} else {
		rc = ctl_usage_error(c, "unknown app command '%s'", verb);
	}
out:
	ctl_args_free(&a);
	return rc;
}
