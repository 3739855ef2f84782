/*
 * totp: one-time codes (RFC 6238 TOTP over RFC 4226 HOTP) through liboath,
 * and their verification against the store: the skew window, replay
 * protection and throttling.
 *
 * A time step accepted once for a user is never accepted again (RFC 6238
 * §5.2): the store keeps the highest accepted step and accepts a new one
 * only if it is higher, in one atomic statement, so the rule holds across
 * restarts and across idp nodes sharing the store.  Failures are counted in
 * the store too; max_failures within the window lock the factor until the
 * cooldown ends.  Time is always passed in, so tests move a clock instead of
 * sleeping.
 */
#ifndef IDP_TOTP_H
#define IDP_TOTP_H

#include "dir.h"
#include "otpauth.h"

#include <stddef.h>
#include <stdint.h>

#define TOTP_CODE_MAX 9 /* 8 digits and the NUL */
#define TOTP_SKEW_MAX 10

struct totp_params {
	enum otpauth_alg alg;
	unsigned digits; /* 6 or 8 */
	unsigned period; /* seconds per step */
};

/* SHA1, 6 digits, 30 s: what every authenticator app supports. */
#define TOTP_PARAMS_DEFAULT                                                                        \
	{                                                                                          \
		OTPAUTH_SHA1, 6, 30                                                                \
	}

struct totp_policy {
	unsigned skew;                 /* steps accepted either side of now; 0..TOTP_SKEW_MAX */
	struct dir_totp_limits limits; /* failures, window and lockout */
};

/* Initialise liboath; done once per process however often it is called. */
int totp_init(struct err *err);

/*
 * The HOTP value (RFC 4226) of counter under key with HMAC-alg, digits
 * long, into out.  0, or a negative err code.
 */
int totp_hotp(const uint8_t *key, size_t keylen, enum otpauth_alg alg, uint64_t counter,
              unsigned digits, char out[TOTP_CODE_MAX], struct err *err);

/* The TOTP code of key at time t (seconds since the epoch), into out. */
int totp_generate(const uint8_t *key, size_t keylen, const struct totp_params *p, int64_t t,
                  char out[TOTP_CODE_MAX], struct err *err);

/* The time step of t: floor(t / period). */
int64_t totp_step(const struct totp_params *p, int64_t t);

/*
 * Find the time step within skew steps of now's whose code is code (exactly
 * p->digits ASCII digits).  Candidates are compared in constant time
 * (liboath's own validate uses strcmp).  0 with *step set; ERR_DENIED if no
 * step in the window matches; ERR_INVALID if code is malformed.
 */
int totp_match(const uint8_t *key, size_t keylen, const struct totp_params *p, int64_t now,
               unsigned skew, const char *code, int64_t *step, struct err *err)
        __attribute__((warn_unused_result));

enum totp_status {
	TOTP_ACCEPTED = 0,
	TOTP_WRONG,       /* no step in the window has this code (a failure, counted) */
	TOTP_REPLAYED,    /* the code's step was accepted before (not counted) */
	TOTP_LOCKED,      /* too many failures: refused until locked_until */
	TOTP_NOT_ENROLLED /* no confirmed factor (none, or enrollment pending) */
};

/* A stable lower-case name for the sign-in log: "accepted", "wrong_code", ... */
const char *totp_status_name(enum totp_status s);

struct totp_result {
	enum totp_status status;
	int64_t step;         /* the step the code matched (accepted or replayed), else 0 */
	int failures;         /* failures in the current window after this attempt */
	int64_t locked_until; /* LOCKED: until when; WRONG: set when this failure locked it */
};

/* The parameters stored with a credential; ERR_CORRUPT if they are not valid. */
int totp_params_of(const struct dir_totp *cred, struct totp_params *p, struct err *err);

/*
 * Verify code for the user's confirmed credential cred (as just read with
 * dir_totp_get(); key is its unsealed secret) at now: refuse while locked,
 * find the code's step within the skew window, refuse a step not above the
 * last accepted one, then accept the step in the store atomically, or count
 * the failure (which may lock the factor).  Returns 0 only if accepted;
 * ERR_DENIED if refused (res->status: wrong, replayed or locked);
 * ERR_NOT_FOUND if cred is not confirmed; other negative codes if the store
 * failed.  res is filled in every case.
 */
int totp_verify(struct dir *d, const char *tenant_id, const struct dir_totp *cred,
                const uint8_t *key, size_t keylen, const struct totp_policy *pol, int64_t now,
                const char *code, struct totp_result *res, struct err *err)
        __attribute__((warn_unused_result));

/*
 * Complete enrollment: like totp_verify() on the pending credential cred,
 * and when the code matches, confirm it with that step as its first used
 * one and store the n recovery code digests, atomically.  0 if confirmed;
 * ERR_DENIED (wrong or locked); ERR_NOT_FOUND if cred is no longer the
 * pending credential; ERR_EXISTS if it is confirmed already.
 */
int totp_confirm(struct dir *d, const char *tenant_id, const struct dir_totp *cred,
                 const uint8_t *key, size_t keylen, const struct totp_policy *pol, int64_t now,
                 const char *code, const char *const *code_hashes, int n, struct totp_result *res,
                 struct err *err) __attribute__((warn_unused_result));

#endif
