/*
 * totp: codes through liboath, verification through the store.
 *
 * liboath notes that shaped this file: oath_init() must run once before
 * anything else (pthread_once here); oath_hotp_generate() knows only
 * HMAC-SHA1, so HOTP under SHA-256/512 goes through oath_totp_generate2()
 * with a one-second step and "now" equal to the counter; and the plain
 * oath_totp_validate*() compare with strcmp, so we use the _callback form
 * with a constant-time comparison and the digits given explicitly (the
 * plain form infers them from the length of what the user typed).
 */
#include "totp.h"

#include "err.h"
#include "secret.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t totp_once = PTHREAD_ONCE_INIT;
static int totp_init_rc;

static void totp_init_once(void)
{
	totp_init_rc = oath_init();
}

int totp_init(struct err *err)
{
	pthread_once(&totp_once, totp_init_once);
	if (totp_init_rc != OATH_OK)
		return err_set(err, ERR_INTERNAL, "liboath: %s", oath_strerror(totp_init_rc));
	return 0;
}

static int totp_flags(enum otpauth_alg alg)
{
	return alg == OTPAUTH_SHA256   ? OATH_TOTP_HMAC_SHA256
	       : alg == OTPAUTH_SHA512 ? OATH_TOTP_HMAC_SHA512
	                               : 0;
}

static int totp_check_params(const struct totp_params *p, struct err *err)
{
	if (otpauth_alg_name(p->alg) == NULL || (p->digits != 6 && p->digits != 8) ||
	    p->period < 1 || p->period > 300)
		return err_set(err, ERR_INVALID, "TOTP parameters out of range");
	return 0;
}

int totp_hotp(const uint8_t *key, size_t keylen, enum otpauth_alg alg, uint64_t counter,
              unsigned digits, char out[TOTP_CODE_MAX], struct err *err)
{
	int rc;

	if (totp_init(err) != 0)
		return err->code;
	if ((digits != 6 && digits != 7 && digits != 8) || otpauth_alg_name(alg) == NULL ||
	    counter > (uint64_t)INT64_MAX)
		return err_set(err, ERR_INVALID, "HOTP parameters out of range");
	if (alg == OTPAUTH_SHA1)
		rc = oath_hotp_generate((const char *)key, keylen, counter, digits, false,
		                        OATH_HOTP_DYNAMIC_TRUNCATION, out);
	else /* TOTP with a 1 s step at "time" counter is HOTP of counter */
		rc = oath_totp_generate2((const char *)key, keylen, (time_t)counter, 1, 0, digits,
		                         totp_flags(alg), out);
	if (rc != OATH_OK)
		return err_set(err, ERR_INTERNAL, "liboath: %s", oath_strerror(rc));
	return 0;
}

int64_t totp_step(const struct totp_params *p, int64_t t)
{
	return t < 0 ? -1 : t / (int64_t)p->period;
}

int totp_generate(const uint8_t *key, size_t keylen, const struct totp_params *p, int64_t t,
                  char out[TOTP_CODE_MAX], struct err *err)
{
	int rc;

	if (totp_init(err) != 0 || totp_check_params(p, err) != 0)
		return err->code;
	if (t < 0)
		return err_set(err, ERR_INVALID, "time before the epoch");
	rc = oath_totp_generate2((const char *)key, keylen, (time_t)t, p->period, 0, p->digits,
	                         totp_flags(p->alg), out);
	if (rc != OATH_OK)
		return err_set(err, ERR_INTERNAL, "liboath: %s", oath_strerror(rc));
	return 0;
}

struct totp_cmp {
	const char *code;
	size_t len;
};

/* liboath's comparison hook: 0 on a match, positive otherwise; constant time. */
static int totp_cmp(void *handle, const char *test_otp)
{
	const struct totp_cmp *c = handle;

	if (strlen(test_otp) != c->len)
		return 1;
	return secret_equal(c->code, test_otp, c->len) ? 0 : 1;
}

int totp_match(const uint8_t *key, size_t keylen, const struct totp_params *p, int64_t now,
               unsigned skew, const char *code, int64_t *step, struct err *err)
{
	struct totp_cmp c = {code, 0};
	uint64_t counter = 0;
	int pos = 0, rc;

	if (totp_init(err) != 0 || totp_check_params(p, err) != 0)
		return err->code;
	if (skew > TOTP_SKEW_MAX || now < 0)
		return err_set(err, ERR_INVALID, "skew or time out of range");
	c.len = code != NULL ? strnlen(code, TOTP_CODE_MAX) : 0;
	if (c.len != p->digits)
		return err_set(err, ERR_INVALID, "a code has %u digits", p->digits);
	for (size_t i = 0; i < c.len; i++)
		if (code[i] < '0' || code[i] > '9')
			return err_set(err, ERR_INVALID, "a code has only digits");
	rc = oath_totp_validate4_callback((const char *)key, keylen, (time_t)now, p->period, 0,
	                                  p->digits, skew, &pos, &counter, totp_flags(p->alg),
	                                  totp_cmp, &c);
	if (rc == OATH_INVALID_OTP)
		return err_set(err, ERR_DENIED, "wrong code");
	if (rc < 0)
		return err_set(err, ERR_INTERNAL, "liboath: %s", oath_strerror(rc));
	*step = (int64_t)counter;
	return 0;
}

const char *totp_status_name(enum totp_status s)
{
	switch (s) {
	case TOTP_ACCEPTED:
		return "accepted";
	case TOTP_WRONG:
		return "wrong_code";
	case TOTP_REPLAYED:
		return "replayed";
	case TOTP_LOCKED:
		return "locked";
	case TOTP_NOT_ENROLLED:
		return "not_enrolled";
	}
	return "unknown";
}

int totp_params_of(const struct dir_totp *cred, struct totp_params *p, struct err *err)
{
	if (otpauth_alg_parse(cred->algorithm, &p->alg) != 0)
		return err_set(err, ERR_CORRUPT, "stored TOTP algorithm is not known");
	p->digits = (unsigned)cred->digits;
	p->period = (unsigned)cred->period;
	if (totp_check_params(p, err) != 0)
		return err_set(err, ERR_CORRUPT, "stored TOTP parameters out of range");
	return 0;
}

/* Count a failure in the store and describe it in res. */
static int totp_failed(struct dir *d, const char *tenant_id, const char *user_id,
                       const struct totp_policy *pol, int64_t now, struct totp_result *res,
                       struct err *err)
{
	int64_t until = 0;
	int n = 0, rc;

	res->status = TOTP_WRONG;
	rc = dir_totp_fail(d, tenant_id, user_id, now, &pol->limits, &n, &until, err);
	if (rc != 0)
		return rc;
	res->failures = n;
	res->locked_until = until > now ? until : 0;
	return err_set(err, ERR_DENIED, "wrong code");
}

/*
 * What verify and confirm share: the lock, the code's step.  Returns 1
 * when the caller should go on with *step, else the final return value.
 */
static int totp_precheck(struct dir *d, const char *tenant_id, const struct dir_totp *cred,
                         const uint8_t *key, size_t keylen, const struct totp_policy *pol,
                         int64_t now, const char *code, int64_t *step, struct totp_result *res,
                         struct err *err)
{
	struct totp_params p;
	int rc;

	res->failures = cred->failures;
	if (cred->locked_until > now) {
		res->status = TOTP_LOCKED;
		res->locked_until = cred->locked_until;
		return err_set(err, ERR_DENIED, "the second factor is locked");
	}
	if (totp_params_of(cred, &p, err) != 0)
		return err->code;
	rc = totp_match(key, keylen, &p, now, pol->skew, code, step, err);
	if (rc == ERR_DENIED || rc == ERR_INVALID) /* a malformed code is a wrong one */
		return totp_failed(d, tenant_id, cred->user_id, pol, now, res, err);
	if (rc != 0)
		return rc;
	res->step = *step;
	return 1;
}

/* Tell a refused accept apart: replayed, or locked meanwhile. */
static int totp_refused(struct dir *d, const char *tenant_id, const char *user_id, int64_t now,
                        int64_t step, struct totp_result *res, struct err *err)
{
	struct dir_totp t;
	int rc = dir_totp_get(d, tenant_id, user_id, &t, err);

	if (rc != 0)
		return rc;
	if (t.locked_until > now) {
		res->status = TOTP_LOCKED;
		res->locked_until = t.locked_until;
		return err_set(err, ERR_DENIED, "the second factor is locked");
	}
	res->status = TOTP_REPLAYED;
	(void)step;
	return err_set(err, ERR_DENIED, "this code was used already");
}

int totp_verify(struct dir *d, const char *tenant_id, const struct dir_totp *cred,
                const uint8_t *key, size_t keylen, const struct totp_policy *pol, int64_t now,
                const char *code, struct totp_result *res, struct err *err)
{
	int64_t step = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = TOTP_NOT_ENROLLED;
	if (!cred->confirmed)
		return err_set(err, ERR_NOT_FOUND, "no confirmed second factor");
	if ((rc = totp_precheck(d, tenant_id, cred, key, keylen, pol, now, code, &step, res,
	                        err)) != 1)
		return rc;
	if (step <= cred->last_step) { /* known refused without a write */
		res->status = TOTP_REPLAYED;
		return err_set(err, ERR_DENIED, "this code was used already");
	}
	rc = dir_totp_accept(d, tenant_id, cred->user_id, step, now, err);
	if (rc == ERR_DENIED)
		return totp_refused(d, tenant_id, cred->user_id, now, step, res, err);
	if (rc == ERR_NOT_FOUND) {
		res->status = TOTP_NOT_ENROLLED;
		return rc;
	}
	if (rc != 0)
		return rc;
	res->status = TOTP_ACCEPTED;
	res->failures = 0;
	return 0;
}

int totp_confirm(struct dir *d, const char *tenant_id, const struct dir_totp *cred,
                 const uint8_t *key, size_t keylen, const struct totp_policy *pol, int64_t now,
                 const char *code, const char *const *code_hashes, int n, struct totp_result *res,
                 struct err *err)
{
	int64_t step = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = TOTP_NOT_ENROLLED;
	if (cred->confirmed)
		return err_set(err, ERR_EXISTS, "the second factor is confirmed already");
	if ((rc = totp_precheck(d, tenant_id, cred, key, keylen, pol, now, code, &step, res,
	                        err)) != 1)
		return rc;
	rc = dir_totp_confirm(d, tenant_id, cred->user_id, cred->secret_enc, step, now, code_hashes,
	                      n, err);
	if (rc == ERR_DENIED)
		return totp_refused(d, tenant_id, cred->user_id, now, step, res, err);
	if (rc != 0)
		return rc;
	res->status = TOTP_ACCEPTED;
	res->failures = 0;
	return 0;
}
