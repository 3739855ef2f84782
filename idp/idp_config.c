/*
 * idp_config: the table of the idp's settings, and the checks that need
 * more than one key at a time.
 */
#include "idp_config.h"

#include "config.h"
#include "err.h"

#include <arpa/inet.h>
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

static int idp_check_url(const char *v, char *why, size_t n)
{
	size_t len = strlen(v);

	if ((strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) || len < 9 ||
	    v[len - 1] == '/' || strpbrk(v, " ?#\"<>") != NULL) {
		snprintf(why, n, "must be scheme://host[:port][/path] without a trailing '/'");
		return -1;
	}
	return 0;
}

#define F(field) offsetof(struct idp_config, field)

static const struct cfg_key idp_config_keys[] = {
	{"store", "path", CFG_STRING, F(store_path), NULL, CFG_REQUIRED, 0, 0, NULL, NULL},
	{"store", "busy_timeout", CFG_INT, F(busy_timeout_ms), "5000", 0, 1, 600000, NULL, NULL},
	{"store", "soft_delete_retention", CFG_DURATION, F(soft_delete_retention), "30d", 0, 60,
	 3650LL * 86400, NULL, NULL},
	{"passwords", "argon2_passes", CFG_INT, F(argon2_t_cost), "2", 0, 1, 100, NULL, NULL},
	{"passwords", "argon2_memory", CFG_SIZE, F(argon2_m_cost_kib), "19M", 0, 8 * 1024,
	 4LL * 1024 * 1024 * 1024, NULL, NULL},
	{"passwords", "argon2_lanes", CFG_INT, F(argon2_lanes), "1", 0, 1, 64, NULL, NULL},
	{"http", "listen", CFG_STRING, F(listen), "127.0.0.1", 0, 0, 0, NULL, NULL},
	{"http", "port", CFG_INT, F(port), "8443", 0, 0, 65535, NULL, NULL},
	{"http", "public_url", CFG_STRING, F(public_url), NULL, CFG_REQUIRED, 0, 0, NULL,
	 idp_check_url},
	{"http", "tls_cert", CFG_STRING, F(tls_cert), NULL, 0, 0, 0, NULL, NULL},
	{"http", "tls_key", CFG_STRING, F(tls_key), NULL, 0, 0, 0, NULL, NULL},
	{"http", "plain_http", CFG_BOOL, F(plain_http), "false", 0, 0, 0, NULL, NULL},
	{"http", "threads", CFG_INT, F(threads), "4", 0, 1, 256, NULL, NULL},
	{"http", "max_connections", CFG_INT, F(max_connections), "4096", 0, 1, 1000000, NULL,
	 NULL},
	{"http", "max_per_ip", CFG_INT, F(max_per_ip), "256", 0, 0, 1000000, NULL, NULL},
	{"http", "timeout", CFG_DURATION, F(timeout_s), "30s", 0, 1, 3600, NULL, NULL},
	{"http", "max_body", CFG_SIZE, F(max_body), "64k", 0, 1024, 64LL * 1024 * 1024, NULL,
	 NULL},
	{"tokens", "access_token_lifetime", CFG_DURATION, F(access_ttl), "10m", 0, 5, 86400,
	 NULL, NULL},
	{"tokens", "id_token_lifetime", CFG_DURATION, F(id_ttl), "10m", 0, 5, 86400, NULL, NULL},
	{"tokens", "refresh_token_lifetime", CFG_DURATION, F(refresh_ttl), "14d", 0, 300,
	 365LL * 86400, NULL, NULL},
	{"tokens", "code_lifetime", CFG_DURATION, F(code_ttl), "60s", 0, 5, 600, NULL, NULL},
	{"session", "idle_timeout", CFG_DURATION, F(session_idle), "1h", 0, 60, 30LL * 86400,
	 NULL, NULL},
	{"session", "max_lifetime", CFG_DURATION, F(session_max), "12h", 0, 60, 90LL * 86400,
	 NULL, NULL},
	{"secrets", "key_file", CFG_STRING, F(key_file), NULL, 0, 0, 0, NULL, NULL},
	{"passthrough", "sync_config", CFG_LIST, F(passthrough_sync_configs), NULL, 0, 0, 0, NULL,
	 NULL},
	{"log", "level", CFG_ENUM, F(log_level), "info", 0, 0, 0, idp_log_levels, NULL},
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

/* 1 if addr is a loopback address. */
static int idp_loopback(const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int idp_config_load(const char *path, struct idp_config *cfg, struct err *err)
{
	int rc;

	*cfg = (struct idp_config){0};
	rc = cfg_load(path, idp_config_keys, cfg, err);
	if (rc != 0)
		return rc;
	cfg->argon2_m_cost_kib /= 1024; /* the file speaks bytes, argon2 KiB */
	cfg->mfa_digits = cfg->mfa_digits_choice == 1 ? 8 : 6;
	if (cfg->plain_http && (cfg->tls_cert != NULL || cfg->tls_key != NULL))
		rc = err_set(err, ERR_INVALID, "%s: [http] plain_http with tls_cert/tls_key: pick one",
			     path);
	else if (!cfg->plain_http && (cfg->tls_cert == NULL || cfg->tls_key == NULL))
		rc = err_set(err, ERR_INVALID,
			     "%s: [http] tls_cert and tls_key are required (plain_http = true is "
			     "allowed on loopback only)",
			     path);
	else if (cfg->plain_http && !idp_loopback(cfg->listen))
		rc = err_set(err, ERR_INVALID,
			     "%s: [http] plain_http is allowed only when listen is a loopback "
			     "address, not '%s'",
			     path, cfg->listen);
	if (rc != 0)
		idp_config_free(cfg);
	return rc;
}

void idp_config_free(struct idp_config *cfg)
{
	cfg_free(idp_config_keys, cfg);
}
