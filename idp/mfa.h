/*
 * mfa: the second factor as the idp's pages use it: enrolling an
 * authenticator app, verifying its codes, recovery codes, removal and the
 * administrator's reset.  It ties together totp (codes, replay, lockout),
 * otpauth (the key URI), qrsvg (its QR code), secretbox (the secret sealed
 * at rest) and recovery (single-use codes) over the directory store.
 *
 * A page handler's whole conversation:
 *
 *   enrollment page     mfa_enroll_begin()   -> URI, base32 secret, SVG QR
 *   "enter the code"    mfa_enroll_confirm() -> ten recovery codes, once
 *   sign-in, 2nd step   mfa_verify()         -> accepted / wrong / replayed /
 *                                               locked (until when) / not enrolled
 *   "lost my phone"     mfa_recover()        -> accepted once per code
 *   settings            mfa_remove(), mfa_recovery_regenerate(), mfa_state()
 *   admin               mfa_reset()
 *   sign-in policy      mfa_required()
 *
 * Results: 0 means the factor was accepted (or the change was made);
 * anything else is negative, so a caller that only tests "== 0" is safe.
 * struct mfa_result says why a code was refused, in words fit for the
 * sign-in log (mfa_status_name()): every attempt should be logged there
 * with that word; this module writes the tenant's audit log itself for
 * enrollment, removal, reset, a recovery code used and a lockout.  Nothing
 * here logs a code or a secret.
 *
 * A struct mfa is immutable after mfa_new(): share one between threads,
 * each thread with its own struct dir connection.
 */
#ifndef IDP_MFA_H
#define IDP_MFA_H

#include "clock.h"
#include "dir.h"
#include "otpauth.h"
#include "recovery.h"
#include "secretbox.h"
#include "totp.h"

#include <stddef.h>

struct idp_config;
struct mfa;

#define MFA_SECRET_LEN 20 /* 160 bits, RFC 4226's recommendation */
#define MFA_ISSUER_MAX 128

struct mfa_config {
	const char *issuer;        /* shown in authenticator apps; copied; NULL = "idp" */
	struct totp_params params; /* for new enrollments */
	struct totp_policy policy; /* skew window and lockout */
	int qr_scale;              /* pixels per QR module; 0 = 4 */
	struct clock clock;        /* NULL now = the real clock */
};

/* SHA1/6/30, skew ±1 step, lock after 5 failures in 15 min for 15 min. */
#define MFA_CONFIG_DEFAULT                                                                         \
	{                                                                                          \
		NULL, TOTP_PARAMS_DEFAULT, {1, {5, 900, 900}}, 4,                                  \
		{                                                                                  \
			NULL, NULL                                                                 \
		}                                                                                  \
	}

/* The [mfa] section of the idp's config as a struct mfa_config (clock: real). */
void mfa_config_from(const struct idp_config *ic, struct mfa_config *out);

/*
 * Make the MFA service over the key ring sb, which is borrowed and must
 * outlive it.  Refuses parameters out of range.  Free with mfa_free().
 */
struct mfa *mfa_new(const struct mfa_config *cfg, const struct secretbox *sb, struct err *err);

/* Free m; NULL is fine. */
void mfa_free(struct mfa *m);

/* ---- enrollment ------------------------------------------------------- */

struct mfa_enrollment {
	char uri[OTPAUTH_URI_MAX];        /* otpauth://totp/... */
	char secret_b32[OTPAUTH_B32_MAX]; /* the secret, for typing in by hand */
	char *qr_svg;                     /* the URI as an SVG QR code; heap */
	size_t qr_svg_len;
};

/*
 * Start (or restart) enrollment for the user: a fresh 160-bit secret from
 * the CSPRNG, stored sealed as the user's pending factor, shown as the key
 * URI, its base32 and a QR code in *out.  Sign-in keeps ignoring the
 * factor until mfa_enroll_confirm().  ERR_EXISTS if the user has a
 * confirmed factor (remove it first); ERR_NOT_FOUND if no such live user;
 * ERR_DENIED if the user is disabled.  Release *out with
 * mfa_enrollment_clear() in every case (it wipes the secret).
 */
int mfa_enroll_begin(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
                     struct mfa_enrollment *out, struct err *err);

/*
 * Show the pending enrollment again (after a mistyped first code, the same
 * QR code: the app has it already).  ERR_NOT_FOUND if none is pending,
 * ERR_EXISTS if the factor is confirmed.  Release with mfa_enrollment_clear().
 */
int mfa_enroll_show(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
                    struct mfa_enrollment *out, struct err *err);

/* Wipe the secret out of e and free its SVG. */
void mfa_enrollment_clear(struct mfa_enrollment *e);

struct mfa_result {
	enum totp_status status;
	int64_t locked_until; /* LOCKED: until when; WRONG: set if this failure locked it */
	int failures;         /* failures in the current window after this attempt */
	int recovery_left;    /* unused recovery codes (mfa_recover, mfa_state) */
	int recovery_used;    /* 1 when a recovery code was the factor */
	int64_t step;         /* the TOTP time step the code matched, if any */
};

/* "accepted", "wrong_code", "replayed", "locked" or "not_enrolled". */
const char *mfa_status_name(enum totp_status s);

struct mfa_recovery_codes {
	int n;
	char code[RECOVERY_CODES][RECOVERY_CODE_MAX]; /* "xxxx-xxxx-xxxx-xxxx" */
};

/*
 * Complete enrollment with the first code from the app (spaces allowed):
 * if it is right for the pending secret, the factor is confirmed (that
 * step counts as used) and ten recovery codes are made, returned once in
 * *codes and stored only as digests.  0 if enrolled; ERR_DENIED if the code
 * is wrong or the factor locked (res says which; failures count toward the
 * lockout as at sign-in); ERR_NOT_FOUND if no enrollment is pending;
 * ERR_EXISTS if it was confirmed already.  Wipe *codes with
 * mfa_recovery_codes_clear() once shown.
 */
int mfa_enroll_confirm(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
                       const char *code, struct mfa_result *res, struct mfa_recovery_codes *codes,
                       struct err *err) __attribute__((warn_unused_result));

/* Wipe recovery codes once shown. */
void mfa_recovery_codes_clear(struct mfa_recovery_codes *c);

/* ---- sign-in ---------------------------------------------------------- */

/*
 * Verify a code (digits, spaces allowed) for the user at the service's
 * clock's now.  0 only if accepted, which also marks its time step used
 * for good (no node accepts it again).  ERR_DENIED: res->status is
 * TOTP_WRONG (counted; res->locked_until set if it locked the factor),
 * TOTP_REPLAYED or TOTP_LOCKED (until res->locked_until).  ERR_NOT_FOUND:
 * TOTP_NOT_ENROLLED (none, or enrollment not confirmed).  Other negative
 * codes: the store or the key file failed (a server error, not the user's).
 */
int mfa_verify(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
               const char *code, struct mfa_result *res, struct err *err)
        __attribute__((warn_unused_result));

/*
 * Use a recovery code as the second factor: 0 if it was an unused code of
 * the user (now used for good; res->recovery_left says how many remain).
 * A wrong code counts toward the lockout like a wrong TOTP code, and a
 * locked factor refuses recovery codes too.  Same results as mfa_verify().
 */
int mfa_recover(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
                const char *code, struct mfa_result *res, struct err *err)
        __attribute__((warn_unused_result));

/* ---- managing --------------------------------------------------------- */

struct mfa_state {
	int enrolled; /* a confirmed factor */
	int pending;  /* enrollment started, not confirmed */
	char algorithm[8];
	int digits, period;
	int64_t created_at;
	int64_t last_used_at; /* start of the last accepted step; 0 = never */
	int failures;
	int64_t locked_until; /* 0 unless locked now */
	int recovery_left, recovery_used;
};

/* The user's factor, without secrets; needs no key.  No factor is not an error. */
int mfa_state(struct dir *d, const char *tenant_id, const char *user_id, int64_t now,
              struct mfa_state *out, struct err *err);

/*
 * 1 if the user must present a second factor to sign in to app_id (NULL:
 * to no app in particular): the tenant, the user or the app requires it.
 * 0 if not; negative on error.
 */
int mfa_required(struct dir *d, const char *tenant_id, const char *user_id, const char *app_id,
                 struct err *err);

/*
 * Replace the user's recovery codes with ten new ones (the old ones stop
 * working), returned once in *codes.  ERR_NOT_FOUND without a confirmed
 * factor.  Audited.
 */
int mfa_recovery_regenerate(struct mfa *m, struct dir *d, const char *tenant_id,
                            const char *user_id, struct mfa_recovery_codes *codes, struct err *err);

/* The user removes their own factor and recovery codes (to re-enroll).  Audited. */
int mfa_remove(struct dir *d, const char *tenant_id, const char *user_id, struct err *err);

/*
 * An administrator resets the user's factor: it and the recovery codes are
 * removed, and the user enrolls again at the next sign-in that requires
 * it.  actor names the admin for the audit log ("alice@corp", "idpctl:root").
 * ERR_NOT_FOUND if the user had no factor.
 */
int mfa_reset(struct dir *d, const char *tenant_id, const char *user_id, const char *actor,
              const char *reason, struct err *err);

#endif
