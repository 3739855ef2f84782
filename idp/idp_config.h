/*
 * idp_config: the settings of the idp daemon and of idpctl, which share one
 * file (conf/idp.conf documents every key).
 */
#ifndef IDP_IDP_CONFIG_H
#define IDP_IDP_CONFIG_H

#include "config.h"

struct err;

struct idp_config {
	/* [store] */
	char *store_path;
	long long busy_timeout_ms;
	long long soft_delete_retention; /* seconds a soft-deleted user stays recoverable */
	/* [passwords] */
	long long argon2_t_cost;
	long long argon2_m_cost_kib;
	long long argon2_lanes;
	/* [http] */
	char *listen;
	long long port;
	char *public_url;       /* scheme://host[:port], no trailing slash */
	char *tls_cert;         /* PEM file, or NULL with plain_http */
	char *tls_key;
	int plain_http;         /* only allowed on a loopback address */
	long long threads;
	long long max_connections;
	long long max_per_ip;
	long long timeout_s;
	long long max_body;
	/* [tokens] */
	long long access_ttl;
	long long id_ttl;
	long long refresh_ttl;
	long long code_ttl;
	/* [session] */
	long long session_idle;
	long long session_max;
	/* [secrets] */
	char *key_file;         /* the master key sealing private keys and secrets */
	/* [passthrough] */
	struct cfg_list passthrough_sync_configs; /* idp-sync configs naming LDAP per tenant */
	/* [log] */
	int log_level; /* enum log_level */
	/* [mfa] */
	char *mfa_issuer;             /* issuer shown in authenticator apps */
	int mfa_algorithm;            /* 0 SHA1, 1 SHA256, 2 SHA512 */
	int mfa_digits_choice;        /* index into "6", "8" */
	long long mfa_digits;         /* 6 or 8, from mfa_digits_choice */
	long long mfa_period;         /* seconds per step */
	long long mfa_skew;           /* steps accepted either side */
	long long mfa_max_failures;   /* failures that lock the factor */
	long long mfa_failure_window; /* seconds in which they count */
	long long mfa_lockout;        /* seconds the lock lasts */
};

/* Load path into cfg; 0, or a negative err code with err naming file, line and key. */
int idp_config_load(const char *path, struct idp_config *cfg, struct err *err);

/* Release what idp_config_load() allocated. */
void idp_config_free(struct idp_config *cfg);

#endif
