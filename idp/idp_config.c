/*
 * idp_config: the table of the idp's settings.
 */
#include "idp_config.h"

#include "config.h"
#include "err.h"

#include <stddef.h>

static const char *const idp_log_levels[] = {"error", "warn", "info", "debug", NULL};

#define F(field) offsetof(struct idp_config, field)

static const struct cfg_key idp_config_keys[] = {
	{"store", "path", CFG_STRING, F(store_path), NULL, CFG_REQUIRED, 0, 0, NULL, NULL},
	{"store", "busy_timeout", CFG_INT, F(busy_timeout_ms), "5000", 0, 1, 600000, NULL, NULL},
	{"passwords", "argon2_passes", CFG_INT, F(argon2_t_cost), "2", 0, 1, 100, NULL, NULL},
	{"passwords", "argon2_memory", CFG_SIZE, F(argon2_m_cost_kib), "19M", 0, 8 * 1024,
	 4LL * 1024 * 1024 * 1024, NULL, NULL},
	{"passwords", "argon2_lanes", CFG_INT, F(argon2_lanes), "1", 0, 1, 64, NULL, NULL},
	{"log", "level", CFG_ENUM, F(log_level), "info", 0, 0, 0, idp_log_levels, NULL},
	CFG_END,
};

int idp_config_load(const char *path, struct idp_config *cfg, struct err *err)
{
	int rc;

	*cfg = (struct idp_config){0};
	rc = cfg_load(path, idp_config_keys, cfg, err);
	if (rc == 0)
		cfg->argon2_m_cost_kib /= 1024; /* the file speaks bytes, argon2 KiB */
	return rc;
}

void idp_config_free(struct idp_config *cfg)
{
	cfg_free(idp_config_keys, cfg);
}
