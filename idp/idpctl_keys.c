/*
 * idpctl_keys: token-signing keys (list, rotate).  The key file that seals
 * them is managed by the "mfa" commands (idpctl_mfa.c).
 */
#include "idpctl.h"

#include "idp_config.h"

#include "keys.h"
#include "secretbox.h"

#include <jansson.h>
#include <string.h>

struct keys_ctx {
	json_t *arr;
	int n;
};

static int keys_row(void *ctx, const struct dir_signing_key *k)
{
	struct keys_ctx *l = ctx;
	char t1[32], t2[32];
	const char *state = k->retired_at == 0 ? "signing" : "retired";

	if (l->arr != NULL) {
		json_array_append_new(l->arr,
				      json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "kid", k->kid, "alg",
						k->alg, "state", state, "created_at",
						(json_int_t)k->created_at, "retired_at",
						(json_int_t)k->retired_at, "expires_at",
						(json_int_t)k->expires_at));
	} else {
		if (l->n == 0)
			printf("%-44s  %-5s  %-8s  %-20s  %s\n", "KID", "ALG", "STATE", "CREATED",
			       "LEAVES JWKS");
		printf("%-44s  %-5s  %-8s  %-20s  %s\n", k->kid, k->alg, state,
		       ctl_time(k->created_at, t1, sizeof(t1)),
		       ctl_time(k->expires_at, t2, sizeof(t2)));
	}
	l->n++;
	return 0;
}

int ctl_cmd_keys(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct dir_tenant t;
	struct err err = {0};
	const char *verb = argc > 0 ? argv[0] : "";
	int rc;

	if (argc < 2)
		return ctl_usage_error(c, "keys: which command, and which tenant?");
	if (ctl_args_init(&a, argc - 2, argv + 2) != 0)
		return CTL_FAIL;
	if ((rc = ctl_args_done(c, &a, 0)) != CTL_OK || (rc = ctl_tenant(c, argv[1], &t)) != CTL_OK)
		goto out;
	if (strcmp(verb, "list") == 0) {
		struct keys_ctx l = {c->json ? json_array() : NULL, 0};
		if (dir_key_list(c->dir, t.id, keys_row, &l, &err) != 0) {
			json_decref(l.arr);
			rc = ctl_fail(c, &err);
			goto out;
		}
		if (l.arr != NULL) {
			json_dumpf(l.arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(l.arr);
		} else if (l.n == 0) {
			printf("no keys yet (they are made at the first sign-in or JWKS request)\n");
		}
	} else if (strcmp(verb, "rotate") == 0) {
		struct secretbox *box;
		if (c->cfg == NULL || c->cfg->key_file == NULL) {
			rc = ctl_usage_error(c, "keys rotate needs the config's [secrets] key_file "
						"(use -c)");
			goto out;
		}
		if ((box = secretbox_load(c->cfg->key_file, &err)) == NULL) {
			rc = ctl_fail(c, &err);
			goto out;
		}
		/* old keys stay published as long as any token they signed can live */
		long long keep = (c->cfg->access_ttl > c->cfg->id_ttl ? c->cfg->access_ttl
								       : c->cfg->id_ttl) +
				 300;
		rc = keys_rotate(c->dir, box, t.id, keep, &err) != 0 ? ctl_fail(c, &err) : CTL_OK;
		secretbox_free(box);
		if (rc == CTL_OK) {
			ctl_audit(c, t.id, "keys.rotate", "tenant", t.id,
				  "signing keys rotated");
			printf("rotated the signing keys of %s; the old ones stay in the JWKS for "
			       "%lld s\n",
			       t.name, keep);
		}
	} else {
		rc = ctl_usage_error(c, "unknown keys command '%s'", verb);
	}
out:
	ctl_args_free(&a);
	return rc;
}
