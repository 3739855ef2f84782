/*
 * passthru_glue: tenant -> LDAP server, from the idp-sync configs.
 */
#include "passthru_glue.h"

#include "passthru.h"
#include "sync_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct passthru_entry {
	char tenant[DIR_TENANT_MAX];
	char *uri, *ca_file;
	int starttls;
	int timeout_ms;
};

struct passthru_table {
	struct passthru_entry *e;
	size_t n;
};

void passthru_glue_free(struct passthru_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].uri);
		free(t->e[i].ca_file);
	}
	free(t->e);
	free(t);
}

struct passthru_table *passthru_glue_load(const struct cfg_list *sync_configs, struct err *err)
{
	struct passthru_table *t = calloc(1, sizeof(*t));

	if (t == NULL || (sync_configs->n > 0 &&
			  (t->e = calloc(sync_configs->n, sizeof(*t->e))) == NULL)) {
		free(t);
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < sync_configs->n; i++) {
		struct sync_config sc;
		struct passthru_entry *e = &t->e[t->n];
		if (sync_config_load(sync_configs->v[i], &sc, err) != 0) {
			err_prefix(err, "[passthrough] sync_config");
			passthru_glue_free(t);
			return NULL;
		}
		snprintf(e->tenant, sizeof(e->tenant), "%s", sc.tenant);
		e->uri = strdup(sc.uri);
		e->ca_file = sc.ca_file != NULL ? strdup(sc.ca_file) : NULL;
		e->starttls = sc.starttls;
		e->timeout_ms = (int)(sc.timeout * 1000);
		sync_config_free(&sc);
		if (e->uri == NULL) {
			passthru_glue_free(t);
			err_set(err, ERR_INTERNAL, "out of memory");
			return NULL;
		}
		t->n++;
	}
	return t;
}

int passthru_glue_check(struct idp_req *r, const struct dir_user *u, const char *password,
			int *locked, int *expired, struct err *err)
{
	const struct passthru_table *t = r->idp->passthru;
	struct passthru_conf c;
	int rc;

	if (locked != NULL)
		*locked = 0;
	if (expired != NULL)
		*expired = 0;
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		if (strcmp(t->e[i].tenant, r->tenant.name) != 0)
			continue;
		c.uri = t->e[i].uri;
		c.starttls = t->e[i].starttls;
		c.ca_file = t->e[i].ca_file;
		c.timeout_ms = t->e[i].timeout_ms;
		rc = passthru_check(&c, u->source_dn, password, err);
		switch (rc) {
		case PASSTHRU_OK:
			return 0;
		case PASSTHRU_LOCKED:
			if (locked != NULL)
				*locked = 1;
			return ERR_DENIED;
		case PASSTHRU_EXPIRED:
			if (expired != NULL)
				*expired = 1;
			return ERR_DENIED;
		case PASSTHRU_WRONG_PASSWORD:
		case PASSTHRU_INVALID:
			return ERR_DENIED;
		default:
			return ERR_UNAVAILABLE;
		}
	}
	return err_set(err, ERR_UNAVAILABLE, "pass-through authentication is not configured for "
					     "this tenant");
}
