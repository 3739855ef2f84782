/*
 * risk_internal: what the engine's files share and nobody else needs.
 */
#ifndef IDP_RISK_INTERNAL_H
#define IDP_RISK_INTERNAL_H

#include "risk.h"

#define RISK_FLIGHT_SLOTS 4096

struct risk {
	struct risk_config cfg;
	char *geo_path, *networks_path; /* owned copies of the config's strings */
	struct geo *geo;
	struct risk_nets *listed;
	struct risk_nets *proxies;
	/*
	 * Password attempts under way per name (hashed; names that share a
	 * slot count together, which only ever refuses sooner).  Read and
	 * changed with atomics: see risk_precheck().
	 */
	uint32_t flight[RISK_FLIGHT_SLOTS];
};

/* The client address behind trusted proxies (risk_net.c). */
void risk_nets_client_ip(const struct risk_nets *trusted, const char *peer, const char *xff,
                         char *out, size_t cap);

/*
 * Add a detection to v (dropped past RISK_MAX_DETECTIONS) with a reason
 * (printf) and evidence (a JSON object as text, may be NULL).
 */
void risk_add(struct risk_verdict *v, const char *name, int level, const char *evidence,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Recompute v->level from its detections. */
void risk_combine(struct risk_verdict *v);

/*
 * The detections that count as they write (risk_detect.c), run by
 * risk_record() inside its transaction: brute force and spray for a failed
 * password, fatigue for a failed second factor.
 */
int risk_detect_password_failed(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                                struct risk_verdict *v, struct err *err);
int risk_detect_mfa_failed(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                           struct risk_verdict *v, struct err *err);

#endif
