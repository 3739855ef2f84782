/*
 * idp_config: the settings of the idp daemon and of idpctl, which share one
 * file (conf/idp.conf documents every key).
 */
#ifndef IDP_IDP_CONFIG_H
#define IDP_IDP_CONFIG_H

struct err;

struct idp_config {
	/* [store] */
	char *store_path;
	long long busy_timeout_ms;
	/* [passwords] */
	long long argon2_t_cost;
	long long argon2_m_cost_kib;
	long long argon2_lanes;
	/* [log] */
	int log_level; /* enum log_level */
};

/* Load path into cfg; 0, or a negative err code with err naming file, line and key. */
int idp_config_load(const char *path, struct idp_config *cfg, struct err *err);

/* Release what idp_config_load() allocated. */
void idp_config_free(struct idp_config *cfg);

#endif
