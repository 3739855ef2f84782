/*
 * mfa: the facade the pages call (see mfa.h).
 *
 * Each call reads the credential, opens its sealed secret only when a code
 * has to be computed, and wipes the secret before returning.  The store
 * decides every race (totp.c, dir_mfa.c); this file only sequences the
 * steps and writes the audit records.
 */
#include "mfa.h"

#include "idp_config.h"
#include "err.h"
#include "qrsvg.h"
#include "rand.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mfa {
	const struct secretbox *sb;
	char issuer[MFA_ISSUER_MAX];
	struct totp_params params;
	struct totp_policy policy;
	int qr_scale;
	struct clock clock;
};

static const char *const mfa_algs[] = {"SHA1", "SHA256", "SHA512"};

void mfa_config_from(const struct idp_config *ic, struct mfa_config *out)
{
	*out = (struct mfa_config)MFA_CONFIG_DEFAULT;
	out->issuer = ic->mfa_issuer;
	(void)otpauth_alg_parse(mfa_algs[ic->mfa_algorithm % 3], &out->params.alg);
	out->params.digits = (unsigned)ic->mfa_digits;
	out->params.period = (unsigned)ic->mfa_period;
	out->policy.skew = (unsigned)ic->mfa_skew;
	out->policy.limits.max_failures = (int)ic->mfa_max_failures;
	out->policy.limits.window = ic->mfa_failure_window;
	out->policy.limits.lockout = ic->mfa_lockout;
}

struct mfa *mfa_new(const struct mfa_config *cfg, const struct secretbox *sb, struct err *err)
{
	const char *issuer = cfg->issuer != NULL ? cfg->issuer : "idp";
	struct mfa *m;

	if (totp_init(err) != 0)
		return NULL;
	if (sb == NULL) {
		err_set(err, ERR_INVALID, "no key file loaded");
		return NULL;
	}
	if (otpauth_alg_name(cfg->params.alg) == NULL ||
	    (cfg->params.digits != 6 && cfg->params.digits != 8) || cfg->params.period < 1 ||
	    cfg->params.period > 300 || cfg->policy.skew > TOTP_SKEW_MAX ||
	    cfg->policy.limits.max_failures < 1 || cfg->policy.limits.window < 1 ||
	    cfg->policy.limits.lockout < 1 || cfg->qr_scale < 0 || cfg->qr_scale > 32) {
		err_set(err, ERR_INVALID, "MFA settings out of range");
		return NULL;
	}
	if (strlen(issuer) >= MFA_ISSUER_MAX || strchr(issuer, ':') != NULL || *issuer == '\0') {
		err_set(err, ERR_INVALID, "MFA issuer must be 1..%d characters without ':'",
		        MFA_ISSUER_MAX - 1);
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	m->sb = sb;
	snprintf(m->issuer, sizeof(m->issuer), "%s", issuer);
	m->params = cfg->params;
	m->policy = cfg->policy;
	m->qr_scale = cfg->qr_scale > 0 ? cfg->qr_scale : 4;
	m->clock = cfg->clock;
	return m;
}

void mfa_free(struct mfa *m)
{
	free(m);
}

const char *mfa_status_name(enum totp_status s)
{
	return totp_status_name(s);
}

/* Audit a change to a user's factor; the actor defaults to the user's UPN. */
static void mfa_audit(struct dir *d, const char *tenant_id, const char *user_id, const char *actor,
                      const char *action, const char *summary)
{
	struct dir_audit a = {0};
	struct dir_user u;
	struct err ignored;

	if (actor == NULL)
		actor = dir_user_get(d, tenant_id, user_id, &u, &ignored) == 0 ? u.upn : user_id;
	snprintf(a.actor, sizeof(a.actor), "%s", actor);
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(a.target_type, sizeof(a.target_type), "user");
	snprintf(a.target_id, sizeof(a.target_id), "%s", user_id);
	snprintf(a.summary, sizeof(a.summary), "%s", summary);
	/* An audit failure must not turn a done change into a reported failure. */
	(void)dir_audit_append(d, tenant_id, &a, &ignored);
}

/* Open the credential's sealed secret into key[MFA_SECRET_LEN..]; its length. */
static int mfa_unseal(struct mfa *m, const char *tenant_id, const struct dir_totp *cred,
                      uint8_t *key, size_t cap, struct err *err)
{
	char ctx[SECRETBOX_CONTEXT_MAX];
	int n;

	if (secretbox_context(ctx, sizeof(ctx), "totp", tenant_id, cred->user_id) != 0)
		return err_set(err, ERR_INTERNAL, "context too long");
	n = secretbox_open(m->sb, ctx, cred->secret_enc, key, cap, err);
	if (n < 0) {
		/* Not the user's fault: a wrong or stale key file, or an altered store. */
		err_prefix(err, "cannot open the TOTP secret of user %s", cred->user_id);
		err->code = ERR_INTERNAL;
		return ERR_INTERNAL;
	}
	return n;
}

/* What the user typed minus spaces and dashes, into out (digits only stay). */
static void mfa_clean_code(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; in != NULL && *in != '\0' && n + 1 < cap; in++)
		if (*in != ' ' && *in != '-' && *in != '\t')
			out[n++] = *in;
	out[n] = '\0';
}

int mfa_enroll_begin(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
                     struct mfa_enrollment *out, struct err *err)
{
	struct otpauth k;
	struct dir_user u;
	struct dir_totp t;
	char ctx[SECRETBOX_CONTEXT_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	memset(&t, 0, sizeof(t));
	if ((rc = dir_user_get(d, tenant_id, user_id, &u, err)) != 0)
		return rc;
	if (u.deleted_at != 0)
		return err_set(err, ERR_NOT_FOUND, "no such user");
	if (!u.enabled)
		return err_set(err, ERR_DENIED, "the user is disabled");
	snprintf(k.issuer, sizeof(k.issuer), "%s", m->issuer);
	snprintf(k.account, sizeof(k.account), "%s", u.upn);
	k.alg = m->params.alg;
	k.digits = m->params.digits;
	k.period = m->params.period;
	k.secret_len = MFA_SECRET_LEN;
	if (secretbox_context(ctx, sizeof(ctx), "totp", tenant_id, user_id) != 0) {
		rc = err_set(err, ERR_INTERNAL, "context too long");
		goto out;
	}
	if (rand_bytes(k.secret, MFA_SECRET_LEN) != 0) {
		rc = err_set(err, ERR_INTERNAL, "the kernel's random source failed");
		goto out;
	}
	snprintf(t.user_id, sizeof(t.user_id), "%s", user_id);
	snprintf(t.algorithm, sizeof(t.algorithm), "%s", otpauth_alg_name(k.alg));
	t.digits = (int)k.digits;
	t.period = (int)k.period;
	if ((rc = secretbox_seal(m->sb, ctx, k.secret, k.secret_len, t.secret_enc,
	                         sizeof(t.secret_enc), err)) < 0)
		goto out;
	if ((rc = otpauth_uri(&k, out->uri, sizeof(out->uri), err)) != 0)
		goto out;
	if (otpauth_base32_encode(k.secret, k.secret_len, out->secret_b32,
	                          sizeof(out->secret_b32)) < 0) {
		rc = err_set(err, ERR_INTERNAL, "base32");
		goto out;
	}
	if ((out->qr_svg = qrsvg_render(out->uri, m->qr_scale, &out->qr_svg_len, err)) == NULL) {
		rc = err->code;
		goto out;
	}
	rc = dir_totp_put_pending(d, tenant_id, &t, err);
out:
	secret_wipe(&k, sizeof(k));
	if (rc != 0)
		mfa_enrollment_clear(out);
	return rc < 0 ? rc : 0;
}

int mfa_enroll_show(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
                    struct mfa_enrollment *out, struct err *err)
{
	struct otpauth k;
	struct dir_user u;
	struct dir_totp t;
	int n, rc;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	if ((rc = dir_user_get(d, tenant_id, user_id, &u, err)) != 0)
		return rc;
	if ((rc = dir_totp_get(d, tenant_id, user_id, &t, err)) != 0)
		return rc;
	if (t.confirmed)
		return err_set(err, ERR_EXISTS, "the factor is confirmed already");
	if ((n = mfa_unseal(m, tenant_id, &t, k.secret, sizeof(k.secret), err)) < 0)
		return n;
	snprintf(k.issuer, sizeof(k.issuer), "%s", m->issuer);
	snprintf(k.account, sizeof(k.account), "%s", u.upn);
	if (otpauth_alg_parse(t.algorithm, &k.alg) != 0)
		return err_set(err, ERR_CORRUPT, "unknown TOTP algorithm in the store");
	k.digits = (unsigned)t.digits;
	k.period = (unsigned)t.period;
	k.secret_len = (size_t)n;
	rc = otpauth_uri(&k, out->uri, sizeof(out->uri), err);
	if (rc == 0 && otpauth_base32_encode(k.secret, k.secret_len, out->secret_b32,
	                                     sizeof(out->secret_b32)) < 0)
		rc = err_set(err, ERR_INTERNAL, "base32");
	if (rc == 0 && (out->qr_svg = qrsvg_render(out->uri, m->qr_scale, &out->qr_svg_len,
	                                           err)) == NULL)
		rc = err->code;
	secret_wipe(&k, sizeof(k));
	if (rc != 0)
		mfa_enrollment_clear(out);
	return rc;
}

void mfa_enrollment_clear(struct mfa_enrollment *e)
{
	qrsvg_free(e->qr_svg);
	secret_wipe(e, sizeof(*e));
}

void mfa_recovery_codes_clear(struct mfa_recovery_codes *c)
{
	secret_wipe(c, sizeof(*c));
}

/* Ten fresh codes into codes, their digests into hashes. */
static int mfa_new_codes(const char *tenant_id, const char *user_id,
                         struct mfa_recovery_codes *codes, char (*hashes)[DIR_HASH_MAX],
                         const char **ptrs, struct err *err)
{
	codes->n = RECOVERY_CODES;
	if (recovery_generate(tenant_id, user_id, RECOVERY_CODES, codes->code, hashes, err) != 0)
		return err->code;
	for (int i = 0; i < RECOVERY_CODES; i++)
		ptrs[i] = hashes[i];
	return 0;
}

/* Audit a failure that locked the factor. */
static void mfa_audit_lock(struct dir *d, const char *tenant_id, const char *user_id,
                           const struct mfa_result *res)
{
	char summary[96];

	if (res->status != TOTP_WRONG || res->locked_until == 0)
		return;
	snprintf(summary, sizeof(summary), "second factor locked after %d failures until %lld",
	         res->failures, (long long)res->locked_until);
	mfa_audit(d, tenant_id, user_id, NULL, "mfa.locked", summary);
}

static void mfa_result_from(struct mfa_result *res, const struct totp_result *t)
{
	res->status = t->status;
	res->locked_until = t->locked_until;
	res->failures = t->failures;
	res->step = t->step;
}

int mfa_enroll_confirm(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
                       const char *code, struct mfa_result *res, struct mfa_recovery_codes *codes,
                       struct err *err)
{
	char hashes[RECOVERY_CODES][DIR_HASH_MAX], clean[TOTP_CODE_MAX + 1];
	const char *ptrs[RECOVERY_CODES];
	uint8_t key[OTPAUTH_SECRET_MAX];
	struct totp_result tr;
	struct dir_totp cred;
	int64_t now = clock_now(&m->clock);
	int n = 0, rc;

	memset(res, 0, sizeof(*res));
	memset(codes, 0, sizeof(*codes));
	res->status = TOTP_NOT_ENROLLED;
	if ((rc = dir_totp_get(d, tenant_id, user_id, &cred, err)) != 0)
		return rc;
	if (cred.confirmed)
		return err_set(err, ERR_EXISTS, "the second factor is confirmed already");
	if ((n = mfa_unseal(m, tenant_id, &cred, key, sizeof(key), err)) < 0)
		return n;
	if ((rc = mfa_new_codes(tenant_id, user_id, codes, hashes, ptrs, err)) != 0)
		goto out;
	mfa_clean_code(code, clean, sizeof(clean));
	rc = totp_confirm(d, tenant_id, &cred, key, (size_t)n, &m->policy, now, clean, ptrs,
	                  RECOVERY_CODES, &tr, err);
	mfa_result_from(res, &tr);
	if (rc == 0) {
		res->recovery_left = RECOVERY_CODES;
		mfa_audit(d, tenant_id, user_id, NULL, "mfa.enroll",
		          "enrolled an authenticator app (TOTP)");
	} else {
		mfa_audit_lock(d, tenant_id, user_id, res);
	}
out:
	secret_wipe(key, sizeof(key));
	secret_wipe(clean, sizeof(clean));
	if (rc != 0)
		mfa_recovery_codes_clear(codes);
	return rc;
}

int mfa_verify(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
               const char *code, struct mfa_result *res, struct err *err)
{
	char clean[TOTP_CODE_MAX + 1];
	uint8_t key[OTPAUTH_SECRET_MAX];
	struct totp_result tr;
	struct dir_totp cred;
	int64_t now = clock_now(&m->clock);
	int n, rc;

	memset(res, 0, sizeof(*res));
	res->status = TOTP_NOT_ENROLLED;
	rc = dir_totp_get(d, tenant_id, user_id, &cred, err);
	if (rc == 0 && !cred.confirmed)
		rc = err_set(err, ERR_NOT_FOUND, "enrollment not completed");
	if (rc != 0)
		return rc;
	if (cred.locked_until > now) { /* no need to open the secret */
		res->status = TOTP_LOCKED;
		res->locked_until = cred.locked_until;
		res->failures = cred.failures;
		return err_set(err, ERR_DENIED, "the second factor is locked");
	}
	if ((n = mfa_unseal(m, tenant_id, &cred, key, sizeof(key), err)) < 0)
		return n;
	mfa_clean_code(code, clean, sizeof(clean));
	rc = totp_verify(d, tenant_id, &cred, key, (size_t)n, &m->policy, now, clean, &tr, err);
	mfa_result_from(res, &tr);
	if (rc == ERR_DENIED)
		mfa_audit_lock(d, tenant_id, user_id, res);
	secret_wipe(key, sizeof(key));
	secret_wipe(clean, sizeof(clean));
	return rc;
}

int mfa_recover(struct mfa *m, struct dir *d, const char *tenant_id, const char *user_id,
                const char *code, struct mfa_result *res, struct err *err)
{
	struct dir_totp cred;
	int64_t now = clock_now(&m->clock), until = 0;
	int left = 0, rc;
	char summary[64];

	memset(res, 0, sizeof(*res));
	res->status = TOTP_NOT_ENROLLED;
	rc = dir_totp_get(d, tenant_id, user_id, &cred, err);
	if (rc == 0 && !cred.confirmed)
		rc = err_set(err, ERR_NOT_FOUND, "enrollment not completed");
	if (rc != 0)
		return rc;
	res->failures = cred.failures;
	if (cred.locked_until > now) {
		res->status = TOTP_LOCKED;
		res->locked_until = cred.locked_until;
		return err_set(err, ERR_DENIED, "the second factor is locked");
	}
	rc = recovery_use(d, tenant_id, user_id, code, now, &left, err);
	res->recovery_left = left;
	if (rc == ERR_DENIED) {
		res->status = TOTP_WRONG;
		if ((rc = dir_totp_fail(d, tenant_id, user_id, now, &m->policy.limits,
		                        &res->failures, &until, err)) != 0)
			return rc;
		res->locked_until = until > now ? until : 0;
		mfa_audit_lock(d, tenant_id, user_id, res);
		return err_set(err, ERR_DENIED, "not an unused recovery code");
	}
	if (rc != 0)
		return rc;
	res->status = TOTP_ACCEPTED;
	res->recovery_used = 1;
	res->failures = 0;
	snprintf(summary, sizeof(summary), "used a recovery code; %d left", left);
	mfa_audit(d, tenant_id, user_id, NULL, "mfa.recovery_code_used", summary);
	return 0;
}

int mfa_state(struct dir *d, const char *tenant_id, const char *user_id, int64_t now,
              struct mfa_state *out, struct err *err)
{
	struct dir_totp t;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dir_totp_get(d, tenant_id, user_id, &t, err);
	if (rc == ERR_NOT_FOUND) {
		err_clear(err);
		return 0;
	}
	if (rc != 0)
		return rc;
	out->enrolled = t.confirmed != 0;
	out->pending = !t.confirmed;
	snprintf(out->algorithm, sizeof(out->algorithm), "%s", t.algorithm);
	out->digits = t.digits;
	out->period = t.period;
	out->created_at = t.created_at;
	out->last_used_at = t.confirmed && t.last_step > 0 ? t.last_step * t.period : 0;
	out->failures = t.failures;
	out->locked_until = t.locked_until > now ? t.locked_until : 0;
	return dir_recovery_count(d, tenant_id, user_id, &out->recovery_left, &out->recovery_used,
	                          err);
}

int mfa_required(struct dir *d, const char *tenant_id, const char *user_id, const char *app_id,
                 struct err *err)
{
	struct dir_tenant t;
	struct dir_user u;
	struct dir_app a;
	int rc;

	if ((rc = dir_tenant_get(d, tenant_id, &t, err)) != 0)
		return rc;
	if (t.mfa_required)
		return 1;
	if ((rc = dir_user_get(d, tenant_id, user_id, &u, err)) != 0)
		return rc;
	if (u.mfa_required)
		return 1;
	if (app_id == NULL)
		return 0;
	if ((rc = dir_app_get(d, tenant_id, app_id, &a, err)) != 0)
		return rc;
	return a.mfa_required != 0;
}

int mfa_recovery_regenerate(struct mfa *m, struct dir *d, const char *tenant_id,
                            const char *user_id, struct mfa_recovery_codes *codes, struct err *err)
{
	char hashes[RECOVERY_CODES][DIR_HASH_MAX];
	const char *ptrs[RECOVERY_CODES];
	int rc;

	(void)m;
	memset(codes, 0, sizeof(*codes));
	if ((rc = mfa_new_codes(tenant_id, user_id, codes, hashes, ptrs, err)) == 0)
		rc = dir_recovery_replace(d, tenant_id, user_id, ptrs, RECOVERY_CODES, err);
	if (rc != 0) {
		mfa_recovery_codes_clear(codes);
		return rc;
	}
	mfa_audit(d, tenant_id, user_id, NULL, "mfa.recovery_codes_regenerated",
	          "made a new set of recovery codes; the old ones no longer work");
	return 0;
}

int mfa_remove(struct dir *d, const char *tenant_id, const char *user_id, struct err *err)
{
	int rc = dir_totp_delete(d, tenant_id, user_id, err);

	if (rc == 0)
		mfa_audit(d, tenant_id, user_id, NULL, "mfa.remove",
		          "removed the authenticator app and recovery codes");
	return rc;
}

int mfa_reset(struct dir *d, const char *tenant_id, const char *user_id, const char *actor,
              const char *reason, struct err *err)
{
	char summary[DIR_TEXT_MAX];
	int rc = dir_totp_delete(d, tenant_id, user_id, err);

	if (rc != 0)
		return rc;
	snprintf(summary, sizeof(summary), "reset the user's second factor%s%.900s",
	         reason != NULL && *reason != '\0' ? ": " : "", reason != NULL ? reason : "");
	mfa_audit(d, tenant_id, user_id, actor != NULL ? actor : "admin", "mfa.reset", summary);
	return 0;
}
