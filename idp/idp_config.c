/*
 * idp_config: the table of the idp's settings.
 */
#include "idp_config.h"

#include "config.h"
#include "err.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const idp_log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const idp_mfa_algorithms[] = {"SHA1", "SHA256", "SHA512", NULL};
static const char *const idp_mfa_digits[] = {"6", "8", NULL};

/* The issuer is the label prefix of the otpauth:// URI: no ':' in it. */
static int idp_check_issuer(const char *v, char *why, size_t whylen)
{
	if (*v == '\0' || strlen(v) > 127 || strchr(v, ':') != NULL) {
		snprintf(why, whylen, "must be 1..127 characters without ':'");
		return -1;
	}
	return 0;
}

#define F(field) offsetof(struct idp_config, field)

static const struct cfg_key idp_config_keys[] = {
	{"store", "path", CFG_STRING, F(store_path), NULL, CFG_REQUIRED, 0, 0, NULL, NULL},
	{"store", "busy_timeout", CFG_INT, F(busy_timeout_ms), "5000", 0, 1, 600000, NULL, NULL},
	{"passwords", "argon2_passes", CFG_INT, F(argon2_t_cost), "2", 0, 1, 100, NULL, NULL},
	{"passwords", "argon2_memory", CFG_SIZE, F(argon2_m_cost_kib), "19M", 0, 8 * 1024,
	 4LL * 1024 * 1024 * 1024, NULL, NULL},
	{"passwords", "argon2_lanes", CFG_INT, F(argon2_lanes), "1", 0, 1, 64, NULL, NULL},
	{"log", "level", CFG_ENUM, F(log_level), "info", 0, 0, 0, idp_log_levels, NULL},
	{"mfa", "key_file", CFG_STRING, F(mfa_key_file), NULL, 0, 0, 0, NULL, NULL},
	{"mfa", "issuer", CFG_STRING, F(mfa_issuer), "idp", 0, 0, 0, NULL, idp_check_issuer},
	{"mfa", "algorithm", CFG_ENUM, F(mfa_algorithm), "SHA1", 0, 0, 0, idp_mfa_algorithms, NULL},
	{"mfa", "digits", CFG_ENUM, F(mfa_digits_choice), "6", 0, 0, 0, idp_mfa_digits, NULL},
	{"mfa", "period", CFG_DURATION, F(mfa_period), "30s", 0, 10, 300, NULL, NULL},
	{"mfa", "skew", CFG_INT, F(mfa_skew), "1", 0, 0, 10, NULL, NULL},
	{"mfa", "max_failures", CFG_INT, F(mfa_max_failures), "5", 0, 1, 1000, NULL, NULL},
	{"mfa", "failure_window", CFG_DURATION, F(mfa_failure_window), "15m", 0, 1, 86400, NULL,
	 NULL},
	{"mfa", "lockout", CFG_DURATION, F(mfa_lockout), "15m", 0, 1, 86400, NULL, NULL},
	CFG_END,
};

int idp_config_load(const char *path, struct idp_config *cfg, struct err *err)
{
	int rc;

	*cfg = (struct idp_config){0};
	rc = cfg_load(path, idp_config_keys, cfg, err);
	if (rc == 0) {
		cfg->argon2_m_cost_kib /= 1024; /* the file speaks bytes, argon2 KiB */
		cfg->mfa_digits = cfg->mfa_digits_choice == 1 ? 8 : 6;
	}
	return rc;
}

void idp_config_free(struct idp_config *cfg)
{
	cfg_free(idp_config_keys, cfg);
}
