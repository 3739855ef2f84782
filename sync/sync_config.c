/*
 * sync_config: the table of idp-sync's settings and the checks that span
 * several keys.
 */
#include "sync_config.h"

#include "err.h"
#include "secret.h"
#include "sync_map.h"

#include <ldap.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const sync_log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const sync_modes[] = {"persist", "poll", NULL};

static int sync_check_uri(const char *v, char *why, size_t whylen)
{
	LDAPURLDesc *u = NULL;

	if (strncasecmp(v, "ldap://", 7) != 0 && strncasecmp(v, "ldaps://", 8) != 0) {
		snprintf(why, whylen, "must start with ldap:// or ldaps://");
		return -1;
	}
	if (ldap_url_parse(v, &u) != LDAP_URL_SUCCESS) {
		snprintf(why, whylen, "not an LDAP URL");
		return -1;
	}
	if (u->lud_host == NULL || *u->lud_host == '\0') {
		ldap_free_urldesc(u);
		snprintf(why, whylen, "names no host");
		return -1;
	}
	if ((u->lud_dn != NULL && *u->lud_dn != '\0') || u->lud_attrs != NULL ||
	    u->lud_filter != NULL) {
		ldap_free_urldesc(u);
		snprintf(why, whylen, "give only scheme, host and port (bases and filters have "
				      "their own keys)");
		return -1;
	}
	ldap_free_urldesc(u);
	return 0;
}

static int sync_check_dn(const char *v, char *why, size_t whylen)
{
	LDAPDN dn = NULL;

	if (*v == '\0') {
		snprintf(why, whylen, "empty");
		return -1;
	}
	if (ldap_str2dn(v, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
		snprintf(why, whylen, "not a distinguished name");
		return -1;
	}
	ldap_dnfree(dn);
	return 0;
}

/*
 * A filter is parsed by the server, which names what is wrong; here only
 * its shape: one parenthesized expression with balanced parentheses.
 */
static int sync_check_filter(const char *v, char *why, size_t whylen)
{
	int depth = 0;
	size_t len = strlen(v);

	if (len < 3 || v[0] != '(' || v[len - 1] != ')') {
		snprintf(why, whylen, "must be one expression in parentheses, like (objectClass=x)");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		depth += v[i] == '(' ? 1 : v[i] == ')' ? -1 : 0;
		if (depth < 0 || (depth == 0 && i + 1 < len)) {
			snprintf(why, whylen, "unbalanced parentheses");
			return -1;
		}
	}
	if (depth != 0) {
		snprintf(why, whylen, "unbalanced parentheses");
		return -1;
	}
	return 0;
}

static int sync_check_attr(const char *v, char *why, size_t whylen)
{
	char t[80];

	/* An attribute name is exactly a template of one placeholder. */
	snprintf(t, sizeof(t), "{%s}", v);
	if (*v == '\0' || strlen(v) > 64 || strchr(v, '{') != NULL || strchr(v, '}') != NULL ||
	    sync_template_check(t, why, whylen) != 0) {
		snprintf(why, whylen, "not an attribute name");
		return -1;
	}
	return 0;
}

static int sync_check_name(const char *v, char *why, size_t whylen)
{
	size_t len = strlen(v);

	if (len == 0 || len >= DIR_SYNC_CONNECTOR_MAX ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != len) {
		snprintf(why, whylen, "1 to %d of a-z, 0-9, '-', '_', '.'",
			 DIR_SYNC_CONNECTOR_MAX - 1);
		return -1;
	}
	return 0;
}

#define F(field) offsetof(struct sync_config, field)
#define STR(sec, key, field, def, flags, check)                                                    \
	{sec, key, CFG_STRING, F(field), def, flags, 0, 0, NULL, check}

static const struct cfg_key sync_config_keys[] = {
	STR("ldap", "uri", uri, NULL, CFG_REQUIRED, sync_check_uri),
	{"ldap", "starttls", CFG_BOOL, F(starttls), "no", 0, 0, 0, NULL, NULL},
	STR("ldap", "ca_file", ca_file, NULL, 0, NULL),
	STR("ldap", "bind_dn", bind_dn, NULL, CFG_REQUIRED, sync_check_dn),
	STR("ldap", "bind_password_file", bind_password_file, NULL, CFG_REQUIRED, NULL),
	{"ldap", "timeout", CFG_DURATION, F(timeout), "10s", 0, 1, 600, NULL, NULL},
	{"ldap", "page_size", CFG_INT, F(page_size), "1000", 0, 10, 100000, NULL, NULL},
	{"ldap", "insecure", CFG_BOOL, F(insecure), "no", 0, 0, 0, NULL, NULL},
	{"users", "base", CFG_LIST, F(user_bases), NULL, CFG_REQUIRED, 0, 0, NULL, sync_check_dn},
	STR("users", "filter", user_filter, "(objectClass=inetOrgPerson)", 0, sync_check_filter),
	{"groups", "base", CFG_LIST, F(group_bases), NULL, 0, 0, 0, NULL, sync_check_dn},
	STR("groups", "filter", group_filter,
	    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))",
	    0, sync_check_filter),
	STR("mapping", "upn", map_upn, NULL, CFG_REQUIRED, sync_template_check),
	STR("mapping", "display_name", map_display_name, "{cn}", 0, sync_template_check),
	STR("mapping", "given_name", map_given_name, "{givenName}", 0, sync_template_check),
	STR("mapping", "surname", map_surname, "{sn}", 0, sync_template_check),
	STR("mapping", "mail", map_mail, "{mail}", 0, sync_template_check),
	STR("mapping", "disabled_attribute", map_disabled, NULL, 0, sync_check_attr),
	STR("mapping", "group_name", map_group_name, "{cn}", 0, sync_template_check),
	STR("mapping", "group_description", map_group_description, "{description}", 0,
	    sync_template_check),
	STR("store", "path", store_path, NULL, CFG_REQUIRED, NULL),
	{"store", "busy_timeout", CFG_INT, F(busy_timeout_ms), "5000", 0, 1, 600000, NULL, NULL},
	STR("store", "tenant", tenant, NULL, CFG_REQUIRED, NULL),
	STR("store", "connector", connector, "ldap", 0, sync_check_name),
	{"sync", "mode", CFG_ENUM, F(mode), "persist", 0, 0, 0, sync_modes, NULL},
	{"sync", "poll_interval", CFG_DURATION, F(poll_interval), "5m", 0, 1, 86400, NULL, NULL},
	{"sync", "delete_threshold", CFG_INT, F(delete_threshold), "500", 0, 0, 100000000, NULL,
	 NULL},
	{"sync", "batch_size", CFG_INT, F(batch_size), "10000", 0, 1, 100000, NULL, NULL},
	{"sync", "retry_max", CFG_DURATION, F(retry_max), "60s", 0, 1, 3600, NULL, NULL},
	{"sync", "cycle_window", CFG_DURATION, F(cycle_window), "1h", 0, 1, 86400, NULL, NULL},
	{"log", "level", CFG_ENUM, F(log_level), "info", 0, 0, 0, sync_log_levels, NULL},
	CFG_END,
};

/* The DN key of a base, for comparing bases; NULL if it does not parse. */
static char *sync_config_norm(const char *dn)
{
	char key[DIR_SYNC_KEY_MAX];

	if (sync_dn_key(dn, strlen(dn), key, sizeof(key), NULL) != 0)
		return NULL;
	return strdup(key);
}

static int sync_config_bases(const char *name, const struct cfg_list *l, struct err *err)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t j = i + 1; j < l->n; j++) {
			char *a = sync_config_norm(l->v[i]), *b = sync_config_norm(l->v[j]);
			int overlap = a != NULL && b != NULL &&
				      (sync_dn_key_under(a, b) || sync_dn_key_under(b, a));
			free(a);
			free(b);
			if (overlap)
				return err_set(err, ERR_INVALID,
					       "[%s] base: '%.200s' and '%.200s' overlap: give "
					       "only the outer one",
					       name, l->v[i], l->v[j]);
		}
	}
	return 0;
}

/* 1 if the URI's host is a loopback address, where plain LDAP stays on the machine. */
static int sync_config_loopback(const char *uri)
{
	LDAPURLDesc *u = NULL;
	int yes;

	if (ldap_url_parse(uri, &u) != LDAP_URL_SUCCESS)
		return 0;
	yes = u->lud_host != NULL &&
	      (strcmp(u->lud_host, "localhost") == 0 || strncmp(u->lud_host, "127.", 4) == 0 ||
	       strcmp(u->lud_host, "::1") == 0);
	ldap_free_urldesc(u);
	return yes;
}

static int sync_config_check(const char *name, struct sync_config *cfg, struct err *err)
{
	int ldaps = strncasecmp(cfg->uri, "ldaps://", 8) == 0;

	if (ldaps && cfg->starttls)
		return err_set(err, ERR_INVALID,
			       "%s: [ldap] starttls: an ldaps:// URI is TLS already", name);
	if (!ldaps && !cfg->starttls && !cfg->insecure && !sync_config_loopback(cfg->uri))
		return err_set(err, ERR_INVALID,
			       "%s: [ldap] uri: the bind password would cross the network in the "
			       "clear: use ldaps://, starttls = yes, or (never in production) "
			       "insecure = yes",
			       name);
	if (cfg->tenant[0] == '\0' || !dir_tenant_name_valid(cfg->tenant))
		return err_set(err, ERR_INVALID, "%s: [store] tenant: not a tenant name", name);
	if (cfg->user_bases.n + cfg->group_bases.n > SYNC_MAX_BASES)
		return err_set(err, ERR_INVALID, "%s: more than %d bases of users and groups", name,
			       SYNC_MAX_BASES);
	if (sync_config_bases("users", &cfg->user_bases, err) != 0 ||
	    sync_config_bases("groups", &cfg->group_bases, err) != 0) {
		err_prefix(err, "%s", name);
		return err->code;
	}
	return 0;
}

static int sync_config_finish(const char *name, int rc, struct sync_config *cfg,
			      struct err *err)
{
	if (rc == 0 && (rc = sync_config_check(name, cfg, err)) != 0)
		sync_config_free(cfg);
	return rc;
}

int sync_config_load(const char *path, struct sync_config *cfg, struct err *err)
{
	*cfg = (struct sync_config){0};
	return sync_config_finish(path, cfg_load(path, sync_config_keys, cfg, err), cfg, err);
}

int sync_config_load_string(const char *name, const char *text, struct sync_config *cfg,
			    struct err *err)
{
	*cfg = (struct sync_config){0};
	return sync_config_finish(name, cfg_load_string(name, text, sync_config_keys, cfg, err),
				  cfg, err);
}

void sync_config_free(struct sync_config *cfg)
{
	cfg_free(sync_config_keys, cfg);
	*cfg = (struct sync_config){0};
}

void sync_config_scope_hash(const struct sync_config *cfg, char out[65])
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *fields[] = {cfg->uri,
				cfg->user_filter,
				cfg->group_filter,
				cfg->map_upn,
				cfg->map_display_name,
				cfg->map_given_name,
				cfg->map_surname,
				cfg->map_mail,
				cfg->map_disabled,
				cfg->map_group_name,
				cfg->map_group_description};

	if (f == NULL) {
		snprintf(out, 65, "%064d", 0);
		return;
	}
	/* Each field NUL-terminated, so that no two configurations hash alike. */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		fprintf(f, "%s%c", fields[i] != NULL ? fields[i] : "", 0);
	for (size_t i = 0; i < cfg->user_bases.n; i++)
		fprintf(f, "u:%s%c", cfg->user_bases.v[i], 0);
	for (size_t i = 0; i < cfg->group_bases.n; i++)
		fprintf(f, "g:%s%c", cfg->group_bases.v[i], 0);
	fclose(f);
	{
		uint8_t d[SECRET_SHA256_LEN];
		secret_sha256(buf != NULL ? buf : "", buf != NULL ? len : 0, d);
		for (size_t i = 0; i < sizeof(d); i++)
			snprintf(out + 2 * i, 3, "%02x", d[i]);
	}
	free(buf);
}
