/*
 * mfa_test: the second factor end to end on real SQLite stores in a temp
 * directory, with an injected clock (no sleeps): enrollment, codes from
 * Debian's oathtool for the enrolled URI's secret, the skew window, replay
 * (same handle, another handle, after a restart, two processes racing),
 * lockout and its end, recovery codes, removal and reset, key checks and
 * rotation, and that no secret reaches the database file.
 */
#define _GNU_SOURCE
#include "idp_config.h"
#include "mfa.h"
#include "rekey.h"

#include "err.h"
#include "testutil.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1790000010 /* 10 s into a 30 s step */

static const char *tmp;
static char db_path[600], key_path[600];
static int64_t now;
static struct dir *d;
static struct secretbox *sb;
static struct mfa *m;
static struct dir_tenant tenant;
static struct dir_user alice, bob;

static struct dir *open_store(struct err *err)
{
	struct dir_options o = {0};

	o.path = db_path;
	o.argon2 = (struct dir_argon2){1, 64, 1};
	o.clock.now = tu_clock;
	o.clock.ctx = &now;
	return dir_open(&o, err);
}

static struct mfa *make_mfa_with(const struct secretbox *box, const struct totp_params *p,
                                 struct err *err)
{
	struct mfa_config cfg = MFA_CONFIG_DEFAULT;

	cfg.issuer = "Acme IdP";
	if (p != NULL)
		cfg.params = *p;
	cfg.clock.now = tu_clock;
	cfg.clock.ctx = &now;
	return mfa_new(&cfg, box, err);
}

static struct mfa *make_mfa(const struct totp_params *p, struct err *err)
{
	return make_mfa_with(sb, p, err);
}

static void make_user(const char *upn, struct dir_user *u)
{
	struct err err = {0};

	memset(u, 0, sizeof(*u));
	snprintf(u->upn, sizeof(u->upn), "%s", upn);
	u->enabled = 1;
	ck_assert_msg(dir_user_create(d, tenant.id, u, NULL, &err) == 0, "%s", err.msg);
}

static void setup(void)
{
	struct err err = {0};

	now = T0;
	tmp = tu_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/store.db", tmp);
	snprintf(key_path, sizeof(key_path), "%s/secret.key", tmp);
	ck_assert_int_eq(secretbox_file_create(key_path, NULL, &err), 0);
	sb = secretbox_load(key_path, &err);
	ck_assert_msg(sb != NULL, "%s", err.msg);
	d = open_store(&err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	m = make_mfa(NULL, &err);
	ck_assert_msg(m != NULL, "%s", err.msg);
	memset(&tenant, 0, sizeof(tenant));
	snprintf(tenant.name, sizeof(tenant.name), "acme");
	ck_assert_int_eq(dir_tenant_create(d, &tenant, &err), 0);
	make_user("alice@acme.test", &alice);
	make_user("bob@acme.test", &bob);
}

static void teardown(void)
{
	struct err err = {0};

	if (d != NULL)
		ck_assert_msg(dir_integrity_check(d, &err) == 0, "%s", err.msg);
	mfa_free(m);
	dir_close(d);
	secretbox_free(sb);
	m = NULL;
	d = NULL;
	sb = NULL;
	tu_rmtree(tmp);
}

/* Run argv, return its first line of output (static), or NULL. */
static const char *run(char *const argv[])
{
	static char line[256];
	int fds[2], status = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) != 0)
		return NULL;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], line, sizeof(line) - 1);
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return NULL;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* The code Debian's oathtool computes for this key URI at time t. */
static const char *oathtool_code(const char *uri, int64_t t)
{
	struct otpauth k;
	struct err err = {0};
	char b32[OTPAUTH_B32_MAX], mode[32], digits[8], period[16], at[32];
	char *argv[] = {"oathtool", mode, "-b", "-d", digits, "-s", period, "-N", at, b32, NULL};

	ck_assert_msg(otpauth_parse(uri, &k, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(otpauth_base32_encode(k.secret, k.secret_len, b32, sizeof(b32)), 0);
	snprintf(mode, sizeof(mode), "--totp=%s", otpauth_alg_name(k.alg));
	snprintf(digits, sizeof(digits), "%u", k.digits);
	snprintf(period, sizeof(period), "%us", k.period);
	snprintf(at, sizeof(at), "@%lld", (long long)t);
	return run(argv);
}

/* Our own code for the URI's secret at t. */
static void code_at(const char *uri, int64_t t, char out[TOTP_CODE_MAX])
{
	struct otpauth k;
	struct totp_params p;
	struct err err = {0};

	ck_assert_int_eq(otpauth_parse(uri, &k, &err), 0);
	p.alg = k.alg;
	p.digits = k.digits;
	p.period = k.period;
	ck_assert_int_eq(totp_generate(k.secret, k.secret_len, &p, t, out, &err), 0);
}

/* Enroll u with mfa mm at now; the URI into uri, the recovery codes into codes. */
static void enroll_with(struct mfa *mm, const struct dir_user *u, char uri[OTPAUTH_URI_MAX],
                        struct mfa_recovery_codes *codes)
{
	struct mfa_enrollment e;
	struct mfa_result res;
	struct err err = {0};
	char code[TOTP_CODE_MAX];

	ck_assert_msg(mfa_enroll_begin(mm, d, tenant.id, u->id, &e, &err) == 0, "%s", err.msg);
	memcpy(uri, e.uri, OTPAUTH_URI_MAX);
	mfa_enrollment_clear(&e);
	code_at(uri, now, code);
	ck_assert_msg(mfa_enroll_confirm(mm, d, tenant.id, u->id, code, &res, codes, &err) == 0,
	              "%s", err.msg);
}

static void enroll(const struct dir_user *u, char uri[OTPAUTH_URI_MAX],
                   struct mfa_recovery_codes *codes)
{
	enroll_with(m, u, uri, codes);
}

static int verify(const struct dir_user *u, const char *code, struct mfa_result *res)
{
	struct err err = {0};

	return mfa_verify(m, d, tenant.id, u->id, code, res, &err);
}

struct audit_find {
	const char *action;
	char actor[DIR_UPN_MAX];
	char summary[DIR_TEXT_MAX];
	int n;
};

static int audit_row(void *ctx, const struct dir_audit *a)
{
	struct audit_find *f = ctx;

	if (strcmp(a->action, f->action) == 0) {
		f->n++;
		memcpy(f->actor, a->actor, sizeof(f->actor));
		memcpy(f->summary, a->summary, sizeof(f->summary));
	}
	return 0;
}

static int audited(const char *action, struct audit_find *f)
{
	struct err err = {0};

	memset(f, 0, sizeof(*f));
	f->action = action;
	ck_assert_int_eq(dir_audit_list(d, tenant.id, 0, 0, audit_row, f, &err), 0);
	return f->n;
}

/* ---- enrollment -------------------------------------------------------- */

START_TEST(enrollment)
{
	struct mfa_enrollment e;
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	struct mfa_state st;
	struct otpauth k;
	struct audit_find af;
	struct err err = {0};
	char code[TOTP_CODE_MAX], b32[OTPAUTH_B32_MAX], uri[OTPAUTH_URI_MAX];

	ck_assert_int_eq(mfa_enroll_begin(m, d, tenant.id, alice.id, &e, &err), 0);
	ck_assert(strncmp(e.uri, "otpauth://totp/Acme%20IdP:alice@acme.test?secret=", 49) == 0);
	ck_assert(strstr(e.uri, "&issuer=Acme%20IdP&algorithm=SHA1&digits=6&period=30") != NULL);
	ck_assert_int_eq(otpauth_parse(e.uri, &k, &err), 0);
	ck_assert_uint_eq(k.secret_len, 20); /* 160 bits */
	ck_assert_int_gt(otpauth_base32_encode(k.secret, k.secret_len, b32, sizeof(b32)), 0);
	ck_assert_str_eq(e.secret_b32, b32);
	ck_assert_uint_eq(strlen(e.secret_b32), 32);
	ck_assert(e.qr_svg != NULL && strstr(e.qr_svg, "<svg") == e.qr_svg);
	ck_assert_uint_eq(e.qr_svg_len, strlen(e.qr_svg));
	memcpy(uri, e.uri, sizeof(uri));
	mfa_enrollment_clear(&e);
	ck_assert(e.qr_svg == NULL && e.uri[0] == '\0');

	/* pending: sign-in ignores it */
	ck_assert_int_eq(mfa_state(d, tenant.id, alice.id, now, &st, &err), 0);
	ck_assert(st.pending && !st.enrolled);
	code_at(uri, now, code);
	ck_assert_int_eq(verify(&alice, code, &res), ERR_NOT_FOUND);
	ck_assert_int_eq(res.status, TOTP_NOT_ENROLLED);
	ck_assert_str_eq(mfa_status_name(res.status), "not_enrolled");

	/* a wrong first code is refused and counted */
	ck_assert_int_eq(
	        mfa_enroll_confirm(m, d, tenant.id, alice.id, "000000", &res, &codes, &err),
	        ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_WRONG);
	ck_assert_int_eq(res.failures, 1);
	ck_assert_int_eq(codes.n, 0);
	/* the right one, typed with a space, completes it */
	{
		char spaced[16];
		snprintf(spaced, sizeof(spaced), "%.3s %s", code, code + 3);
		ck_assert_int_eq(
		        mfa_enroll_confirm(m, d, tenant.id, alice.id, spaced, &res, &codes, &err),
		        0);
	}
	ck_assert_int_eq(res.status, TOTP_ACCEPTED);
	ck_assert_int_eq(codes.n, RECOVERY_CODES);
	ck_assert_int_eq(mfa_state(d, tenant.id, alice.id, now, &st, &err), 0);
	ck_assert(st.enrolled && !st.pending);
	ck_assert_int_eq(st.recovery_left, 10);
	ck_assert_int_eq(st.failures, 0);
	ck_assert_str_eq(st.algorithm, "SHA1");
	ck_assert_int_eq(audited("mfa.enroll", &af), 1);
	ck_assert_str_eq(af.actor, "alice@acme.test");
	/* confirming twice, or starting over while enrolled, is refused */
	ck_assert_int_eq(mfa_enroll_confirm(m, d, tenant.id, alice.id, code, &res, &codes, &err),
	                 ERR_EXISTS);
	ck_assert_int_eq(mfa_enroll_begin(m, d, tenant.id, alice.id, &e, &err), ERR_EXISTS);
	mfa_enrollment_clear(&e);
	/* the enrollment's code is spent: it does not sign in */
	ck_assert_int_eq(verify(&alice, code, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_REPLAYED);
	now += 30;
	code_at(uri, now, code);
	ck_assert_int_eq(verify(&alice, code, &res), 0);
	ck_assert_int_eq(res.status, TOTP_ACCEPTED);
	ck_assert_int_eq(res.step, now / 30);
	/* restarting a pending enrollment gives a new secret */
	{
		struct mfa_enrollment e1, e2;
		ck_assert_int_eq(mfa_enroll_begin(m, d, tenant.id, bob.id, &e1, &err), 0);
		ck_assert_int_eq(mfa_enroll_begin(m, d, tenant.id, bob.id, &e2, &err), 0);
		ck_assert_str_ne(e1.secret_b32, e2.secret_b32);
		code_at(e1.uri, now, code);
		ck_assert_int_eq(
		        mfa_enroll_confirm(m, d, tenant.id, bob.id, code, &res, &codes, &err),
		        ERR_DENIED);
		code_at(e2.uri, now, code);
		ck_assert_int_eq(
		        mfa_enroll_confirm(m, d, tenant.id, bob.id, code, &res, &codes, &err), 0);
		mfa_enrollment_clear(&e1);
		mfa_enrollment_clear(&e2);
	}
	mfa_recovery_codes_clear(&codes);
	/* a disabled user cannot start; an unknown one does not exist */
	alice.enabled = 0;
	ck_assert_int_eq(dir_user_update(d, tenant.id, &alice, &err), 0);
	ck_assert_int_eq(mfa_remove(d, tenant.id, alice.id, &err), 0);
	ck_assert_int_eq(mfa_enroll_begin(m, d, tenant.id, alice.id, &e, &err), ERR_DENIED);
	mfa_enrollment_clear(&e);
	ck_assert_int_eq(mfa_enroll_begin(m, d, tenant.id, "no-such-user", &e, &err),
	                 ERR_NOT_FOUND);
	mfa_enrollment_clear(&e);
}
END_TEST

/* ---- interop and the window -------------------------------------------- */

START_TEST(oathtool_interop_and_window)
{
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	char uri[OTPAUTH_URI_MAX], code[TOTP_CODE_MAX];
	int64_t step;
	const char *c;

	enroll(&alice, uri, &codes);
	now += 600;
	step = now / 30;
	/* the previous step, then the next one: both inside ±1 */
	c = oathtool_code(uri, (step - 1) * 30);
	ck_assert_msg(c != NULL, "oathtool did not run");
	ck_assert_int_eq(verify(&alice, c, &res), 0);
	ck_assert_int_eq(res.step, step - 1);
	c = oathtool_code(uri, (step + 1) * 30 + 29);
	ck_assert_int_eq(verify(&alice, c, &res), 0);
	ck_assert_int_eq(res.step, step + 1);
	/* and they agree with ours */
	code_at(uri, (step + 1) * 30, code);
	ck_assert_str_eq(code, c);
	/* the current one now is lower than the last used: replay */
	c = oathtool_code(uri, now);
	ck_assert_int_eq(verify(&alice, c, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_REPLAYED);
	/* outside the window: two steps off either way */
	now += 3000;
	step = now / 30;
	c = oathtool_code(uri, (step + 2) * 30);
	ck_assert_int_eq(verify(&alice, c, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_WRONG);
	c = oathtool_code(uri, (step - 2) * 30);
	ck_assert_int_eq(verify(&alice, c, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_WRONG);
	ck_assert_int_eq(res.failures, 2);
	/* a good code resets the count */
	c = oathtool_code(uri, now);
	ck_assert_int_eq(verify(&alice, c, &res), 0);
	ck_assert_int_eq(res.failures, 0);
	mfa_recovery_codes_clear(&codes);
}
END_TEST

START_TEST(sha512_8_digits_60s_and_zero_skew)
{
	struct totp_params p = {OTPAUTH_SHA512, 8, 60};
	struct mfa_config cfg = MFA_CONFIG_DEFAULT;
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	struct err err = {0};
	struct mfa *m8;
	char uri[OTPAUTH_URI_MAX];
	const char *c;

	cfg.params = p;
	cfg.policy.skew = 0;
	cfg.clock.now = tu_clock;
	cfg.clock.ctx = &now;
	m8 = mfa_new(&cfg, sb, &err);
	ck_assert_msg(m8 != NULL, "%s", err.msg);
	enroll_with(m8, &alice, uri, &codes);
	ck_assert(strstr(uri, "algorithm=SHA512&digits=8&period=60") != NULL);
	now += 600;
	c = oathtool_code(uri, now);
	ck_assert(c != NULL && strlen(c) == 8);
	ck_assert_int_eq(mfa_verify(m8, d, tenant.id, alice.id, c, &res, &err), 0);
	/* no skew: the next minute's code is refused */
	c = oathtool_code(uri, now + 60);
	ck_assert_int_eq(mfa_verify(m8, d, tenant.id, alice.id, c, &res, &err), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_WRONG);
	/* a 6-digit code for an 8-digit factor is just wrong */
	ck_assert_int_eq(mfa_verify(m8, d, tenant.id, alice.id, "123456", &res, &err), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_WRONG);
	mfa_free(m8);
	mfa_recovery_codes_clear(&codes);

	/* settings out of range are refused */
	cfg.params.digits = 7;
	ck_assert(mfa_new(&cfg, sb, &err) == NULL);
	cfg.params.digits = 6;
	cfg.issuer = "a:b";
	ck_assert(mfa_new(&cfg, sb, &err) == NULL);
	cfg.issuer = NULL;
	cfg.policy.skew = 11;
	ck_assert(mfa_new(&cfg, sb, &err) == NULL);
	cfg.policy.skew = 1;
	ck_assert(mfa_new(&cfg, NULL, &err) == NULL);
}
END_TEST

/* ---- replay ------------------------------------------------------------ */

START_TEST(replay_refused_everywhere)
{
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	struct err err = {0};
	char uri[OTPAUTH_URI_MAX], code[TOTP_CODE_MAX];
	struct dir *other;

	enroll(&alice, uri, &codes);
	now += 90;
	code_at(uri, now, code);
	ck_assert_int_eq(verify(&alice, code, &res), 0);
	ck_assert_int_eq(verify(&alice, code, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_REPLAYED);
	ck_assert_str_eq(mfa_status_name(res.status), "replayed");
	ck_assert_int_eq(res.failures, 0); /* a replay is not a guess */
	/* another node: its own connection to the shared store */
	other = open_store(&err);
	ck_assert_int_eq(mfa_verify(m, other, tenant.id, alice.id, code, &res, &err), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_REPLAYED);
	/* the other node accepts the next step; this one then refuses it */
	now += 30;
	code_at(uri, now, code);
	ck_assert_int_eq(mfa_verify(m, other, tenant.id, alice.id, code, &res, &err), 0);
	dir_close(other);
	ck_assert_int_eq(verify(&alice, code, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_REPLAYED);
	/* a restart changes nothing */
	dir_close(d);
	d = open_store(&err);
	ck_assert_int_eq(verify(&alice, code, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_REPLAYED);
	/* another tenant's id does not reach alice's factor */
	{
		struct dir_tenant t2 = {0};
		snprintf(t2.name, sizeof(t2.name), "globex");
		ck_assert_int_eq(dir_tenant_create(d, &t2, &err), 0);
		now += 30;
		code_at(uri, now, code);
		ck_assert_int_eq(mfa_verify(m, d, t2.id, alice.id, code, &res, &err),
		                 ERR_NOT_FOUND);
		ck_assert_int_eq(verify(&alice, code, &res), 0);
	}
	mfa_recovery_codes_clear(&codes);
}
END_TEST

/*
 * Two processes, each with its own connection, offered the same code (or
 * recovery code) at once: exactly one accepts it.  Each round, both wait on
 * a pipe and go together.
 */
static int race(const char *code, int recovery)
{
	int go[2], accepted = 0;
	pid_t pids[2];

	ck_assert_int_eq(pipe(go), 0);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct err err = {0};
			struct mfa_result res;
			struct dir *mine;
			char c;
			int rc;

			close(go[1]);
			mine = open_store(&err);
			if (mine == NULL)
				_exit(3);
			if (read(go[0], &c, 1) != 0)
				_exit(4);
			rc = recovery ? mfa_recover(m, mine, tenant.id, alice.id, code, &res, &err)
			              : mfa_verify(m, mine, tenant.id, alice.id, code, &res, &err);
			dir_close(mine);
			_exit(rc == 0 ? 0 : rc == ERR_DENIED ? 1 : 2);
		}
	}
	close(go[0]);
	close(go[1]); /* EOF: both go */
	for (int i = 0; i < 2; i++) {
		int status = 0;
		waitpid(pids[i], &status, 0);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(WEXITSTATUS(status) <= 1, "child failed: %d", WEXITSTATUS(status));
		accepted += WEXITSTATUS(status) == 0;
	}
	return accepted;
}

START_TEST(replay_race_between_processes)
{
	struct mfa_recovery_codes codes;
	char uri[OTPAUTH_URI_MAX], code[TOTP_CODE_MAX];

	enroll(&alice, uri, &codes);
	for (int round = 0; round < 10; round++) {
		now += 30;
		code_at(uri, now, code);
		ck_assert_int_eq(race(code, 0), 1);
	}
	for (int round = 0; round < 3; round++)
		ck_assert_int_eq(race(codes.code[round], 1), 1);
	mfa_recovery_codes_clear(&codes);
}
END_TEST

/* ---- lockout ----------------------------------------------------------- */

START_TEST(lockout_and_cooldown)
{
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	struct mfa_state st;
	struct audit_find af;
	struct err err = {0};
	char uri[OTPAUTH_URI_MAX], code[TOTP_CODE_MAX], wrong[TOTP_CODE_MAX];
	int64_t locked_at;

	enroll(&alice, uri, &codes);
	now += 60;
	code_at(uri, now, code);
	snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 1) % 1000000);
	for (int i = 1; i <= 4; i++) {
		ck_assert_int_eq(verify(&alice, wrong, &res), ERR_DENIED);
		ck_assert_int_eq(res.status, TOTP_WRONG);
		ck_assert_int_eq(res.failures, i);
		ck_assert_int_eq(res.locked_until, 0);
		now += 5;
	}
	/* the fifth failure locks for the cooldown */
	ck_assert_int_eq(verify(&alice, "abc", &res), ERR_DENIED); /* malformed counts too */
	ck_assert_int_eq(res.status, TOTP_WRONG);
	ck_assert_int_eq(res.failures, 5);
	locked_at = now;
	ck_assert_int_eq(res.locked_until, locked_at + 900);
	ck_assert_int_eq(audited("mfa.locked", &af), 1);
	/* now even the right code is refused, and so are recovery codes */
	code_at(uri, now, code);
	ck_assert_int_eq(verify(&alice, code, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_LOCKED);
	ck_assert_int_eq(res.locked_until, locked_at + 900);
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, alice.id, codes.code[0], &res, &err),
	                 ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_LOCKED);
	ck_assert_int_eq(mfa_state(d, tenant.id, alice.id, now, &st, &err), 0);
	ck_assert_int_eq(st.locked_until, locked_at + 900);
	ck_assert_int_eq(st.recovery_left, 10);
	/* attempts while locked do not extend it */
	now = locked_at + 899;
	code_at(uri, now, code);
	ck_assert_int_eq(verify(&alice, code, &res), ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_LOCKED);
	ck_assert_int_eq(res.locked_until, locked_at + 900);
	/* the cooldown over, the right code works */
	now = locked_at + 900;
	code_at(uri, now, code);
	ck_assert_int_eq(verify(&alice, code, &res), 0);
	/* after the lock, failures start a new window */
	now += 30;
	ck_assert_int_eq(verify(&alice, wrong, &res), ERR_DENIED);
	ck_assert_int_eq(res.failures, 1);
	/* failures further apart than the window do not add up */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(verify(&alice, wrong, &res), ERR_DENIED);
	ck_assert_int_eq(res.failures, 4);
	now += 901;
	for (int i = 1; i <= 4; i++) {
		ck_assert_int_eq(verify(&alice, wrong, &res), ERR_DENIED);
		ck_assert_int_eq(res.failures, i);
		ck_assert_int_eq(res.locked_until, 0);
	}
	/* wrong recovery codes count toward the same lock */
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, alice.id, "aaaa-bbbb-cccc-dddd", &res, &err),
	                 ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_WRONG);
	ck_assert_int_eq(res.failures, 5);
	ck_assert_int_eq(res.locked_until, now + 900);
	/* the lock holds on another connection too */
	{
		struct dir *other = open_store(&err);
		code_at(uri, now + 30, code);
		ck_assert_int_eq(mfa_verify(m, other, tenant.id, alice.id, code, &res, &err),
		                 ERR_DENIED);
		ck_assert_int_eq(res.status, TOTP_LOCKED);
		dir_close(other);
	}
	/* an admin reset clears the lock with the factor */
	ck_assert_int_eq(mfa_reset(d, tenant.id, alice.id, "idpctl:root", "lost phone", &err), 0);
	ck_assert_int_eq(audited("mfa.reset", &af), 1);
	ck_assert_str_eq(af.actor, "idpctl:root");
	ck_assert(strstr(af.summary, "lost phone") != NULL);
	ck_assert_int_eq(mfa_reset(d, tenant.id, alice.id, "idpctl:root", NULL, &err),
	                 ERR_NOT_FOUND);
	enroll(&alice, uri, &codes);
	mfa_recovery_codes_clear(&codes);
}
END_TEST

/* ---- recovery codes ---------------------------------------------------- */

START_TEST(recovery_codes_work_once)
{
	struct mfa_recovery_codes codes, fresh;
	struct mfa_result res;
	struct mfa_state st;
	struct audit_find af;
	struct err err = {0};
	char uri[OTPAUTH_URI_MAX], upper[RECOVERY_CODE_MAX];

	enroll(&alice, uri, &codes);
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, alice.id, codes.code[3], &res, &err), 0);
	ck_assert_int_eq(res.status, TOTP_ACCEPTED);
	ck_assert(res.recovery_used);
	ck_assert_int_eq(res.recovery_left, 9);
	ck_assert_int_eq(audited("mfa.recovery_code_used", &af), 1);
	ck_assert(strstr(af.summary, "9 left") != NULL);
	/* once only */
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, alice.id, codes.code[3], &res, &err),
	                 ERR_DENIED);
	ck_assert_int_eq(res.status, TOTP_WRONG);
	ck_assert_int_eq(res.failures, 1);
	/* typed loosely: upper case, spaces for dashes */
	for (int i = 0; i < 19; i++)
		upper[i] = codes.code[5][i] == '-'   ? ' '
		           : codes.code[5][i] >= 'a' ? (char)(codes.code[5][i] - 32)
		                                     : codes.code[5][i];
	upper[19] = '\0';
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, alice.id, upper, &res, &err), 0);
	ck_assert_int_eq(res.recovery_left, 8);
	/* bob's codes are not alice's */
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, bob.id, codes.code[0], &res, &err),
	                 ERR_NOT_FOUND);
	ck_assert_int_eq(mfa_state(d, tenant.id, alice.id, now, &st, &err), 0);
	ck_assert_int_eq(st.recovery_left, 8);
	ck_assert_int_eq(st.recovery_used, 2);
	/* a new set replaces the old one */
	ck_assert_int_eq(mfa_recovery_regenerate(m, d, tenant.id, alice.id, &fresh, &err), 0);
	ck_assert_int_eq(fresh.n, 10);
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, alice.id, codes.code[0], &res, &err),
	                 ERR_DENIED);
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, alice.id, fresh.code[0], &res, &err), 0);
	ck_assert_int_eq(res.recovery_left, 9);
	ck_assert_int_eq(mfa_recovery_regenerate(m, d, tenant.id, bob.id, &fresh, &err),
	                 ERR_NOT_FOUND);
	/* removing the factor takes the codes with it */
	ck_assert_int_eq(mfa_remove(d, tenant.id, alice.id, &err), 0);
	ck_assert_int_eq(audited("mfa.remove", &af), 1);
	ck_assert_int_eq(mfa_state(d, tenant.id, alice.id, now, &st, &err), 0);
	ck_assert(!st.enrolled && !st.pending && st.recovery_left == 0 && st.recovery_used == 0);
	ck_assert_int_eq(mfa_recover(m, d, tenant.id, alice.id, fresh.code[1], &res, &err),
	                 ERR_NOT_FOUND);
	ck_assert_int_eq(mfa_remove(d, tenant.id, alice.id, &err), ERR_NOT_FOUND);
	mfa_recovery_codes_clear(&codes);
	mfa_recovery_codes_clear(&fresh);
}
END_TEST

/* ---- secrets at rest --------------------------------------------------- */

static int file_has(const char *path, const void *needle, size_t n)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len);
	int found;

	if (buf == NULL)
		return 0;
	found = memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

START_TEST(no_secret_in_the_database_file)
{
	struct mfa_recovery_codes codes;
	struct otpauth k;
	struct err err = {0};
	char uri[OTPAUTH_URI_MAX], b32[OTPAUTH_B32_MAX], lower[OTPAUTH_B32_MAX], wal[700];
	char plain[RECOVERY_CHARS + 1];

	enroll(&alice, uri, &codes);
	ck_assert_int_eq(otpauth_parse(uri, &k, &err), 0);
	ck_assert_int_gt(otpauth_base32_encode(k.secret, k.secret_len, b32, sizeof(b32)), 0);
	for (size_t i = 0; i <= strlen(b32); i++)
		lower[i] = (char)(b32[i] >= 'A' && b32[i] <= 'Z' ? b32[i] + 32 : b32[i]);
	ck_assert_int_eq(dir_checkpoint(d, &err), 0);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	/* the scan works: what is not secret is there */
	ck_assert(file_has(db_path, "alice@acme.test", 15));
	ck_assert(file_has(db_path, "sb1.", 4));
	for (const char *f = db_path; f != NULL; f = f == db_path ? wal : NULL) {
		ck_assert_msg(!file_has(f, b32, strlen(b32)), "base32 secret in %s", f);
		ck_assert_msg(!file_has(f, lower, strlen(lower)), "base32 secret in %s", f);
		ck_assert_msg(!file_has(f, k.secret, k.secret_len), "raw secret in %s", f);
		/* half the secret is still too much */
		ck_assert_msg(!file_has(f, k.secret, 10), "raw secret in %s", f);
		for (int i = 0; i < codes.n; i++) {
			ck_assert(recovery_normalize(codes.code[i], plain) == 0);
			ck_assert_msg(!file_has(f, codes.code[i], strlen(codes.code[i])),
			              "recovery code in %s", f);
			ck_assert_msg(!file_has(f, plain, strlen(plain)), "recovery code in %s", f);
		}
	}
	mfa_recovery_codes_clear(&codes);
}
END_TEST

/* Run SQL on the store behind the library's back (an attacker with the file). */
static void raw_sql(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
	sqlite3_close(db);
}

START_TEST(sealed_secret_moved_to_another_user)
{
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	struct err err = {0};
	char uri[OTPAUTH_URI_MAX], uri_b[OTPAUTH_URI_MAX], code[TOTP_CODE_MAX], sql[600];

	enroll(&alice, uri, &codes);
	mfa_recovery_codes_clear(&codes);
	enroll(&bob, uri_b, &codes); /* bob's own secret; then overwritten with alice's */
	snprintf(sql, sizeof(sql),
	         "UPDATE totp_credentials SET secret_enc = (SELECT secret_enc FROM "
	         "totp_credentials WHERE user_id = '%s') WHERE user_id = '%s'",
	         alice.id, bob.id);
	raw_sql(sql);
	now += 60;
	code_at(uri, now, code);
	/* alice's sealed secret in bob's row does not open: a server error, never a pass */
	ck_assert_int_eq(verify(&bob, code, &res), ERR_INTERNAL);
	ck_assert_int_ne(res.status, TOTP_ACCEPTED);
	/* alice's own row still works */
	ck_assert_int_eq(verify(&alice, code, &res), 0);
	(void)err;
	mfa_recovery_codes_clear(&codes);
}
END_TEST

static int keep_used(void *ctx, const char *kid)
{
	struct err err = {0};

	(void)ctx;
	return rekey_kid_in_use(d, kid, &err) != 0;
}

START_TEST(key_check_rotation_and_prune)
{
	struct mfa_recovery_codes codes;
	struct mfa_result res;
	struct rekey_stats st;
	struct err err = {0};
	struct secretbox *old, *fresh, *wrong;
	char uri[OTPAUTH_URI_MAX], uri_b[OTPAUTH_URI_MAX], code[TOTP_CODE_MAX];
	char other[700], sealed[600], ctx[SECRETBOX_CONTEXT_MAX], sql[1200];
	char oldkid[SECRETBOX_KID_MAX], newkid[SECRETBOX_KID_MAX];
	int dropped;

	enroll(&alice, uri, &codes);
	mfa_recovery_codes_clear(&codes);
	enroll(&bob, uri_b, &codes);
	/* a private signing key sealed the way the token service will seal it */
	ck_assert_int_eq(secretbox_context(ctx, sizeof(ctx), "signing_key", tenant.id, "kid-1"), 0);
	ck_assert_int_gt(secretbox_seal(sb, ctx, "-----BEGIN PRIVATE KEY-----", 27, sealed,
	                                sizeof(sealed), &err),
	                 0);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO signing_keys (tenant_id, kid, alg, private_enc, public_jwk, "
	         "created_at) VALUES ('%s', 'kid-1', 'ES256', '%s', '{}', 1)",
	         tenant.id, sealed);
	raw_sql(sql);

	ck_assert_int_eq(rekey_check(sb, d, 1, &st, &err), 0);
	ck_assert_int_eq(st.sealed, 3);
	ck_assert_int_eq(st.active, 3);
	/* another key file: refused, naming the missing key */
	snprintf(other, sizeof(other), "%s/other.key", tmp);
	ck_assert_int_eq(secretbox_file_create(other, NULL, &err), 0);
	wrong = secretbox_load(other, &err);
	ck_assert_int_eq(rekey_check(wrong, d, 0, NULL, &err), ERR_NOT_FOUND);
	ck_assert(strstr(err.msg, secretbox_active_kid(sb)) != NULL);
	secretbox_free(wrong);
	/* right key id, wrong bytes: refused as a wrong key file */
	snprintf(sql, sizeof(sql), "%s AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
	         secretbox_active_kid(sb));
	ck_assert_int_eq(tu_write_file(other, sql, 0600), 0);
	wrong = secretbox_load(other, &err);
	ck_assert(wrong != NULL);
	ck_assert_int_eq(rekey_check(wrong, d, 0, NULL, &err), ERR_DENIED);
	ck_assert(strstr(err.msg, "wrong key file") != NULL);
	/* and the sign-in path reports it as a server error, not as a wrong code */
	{
		struct mfa *mw = make_mfa_with(wrong, NULL, &err);
		now += 30;
		code_at(uri, now, code);
		ck_assert_int_eq(mfa_verify(mw, d, tenant.id, alice.id, code, &res, &err),
		                 ERR_INTERNAL);
		ck_assert(strstr(err.msg, "cannot open the TOTP secret") != NULL);
		mfa_free(mw);
		secretbox_free(wrong);
	}

	/* rotate: a new first key, every value re-sealed in one go */
	snprintf(oldkid, sizeof(oldkid), "%s", secretbox_active_kid(sb));
	ck_assert_int_eq(secretbox_file_add_key(key_path, newkid, &err), 0);
	old = sb;
	fresh = secretbox_load(key_path, &err);
	ck_assert_int_eq(rekey_reseal(fresh, d, &st, &err), 0);
	ck_assert_int_eq(st.sealed, 3);
	ck_assert_int_eq(st.resealed, 3);
	ck_assert_int_eq(rekey_reseal(fresh, d, &st, &err), 0); /* idempotent */
	ck_assert_int_eq(st.resealed, 0);
	ck_assert_int_eq(rekey_check(fresh, d, 1, &st, &err), 0);
	ck_assert_int_eq(st.active, 3);
	ck_assert_int_eq(rekey_kid_in_use(d, oldkid, &err), 0);
	ck_assert_int_eq(rekey_kid_in_use(d, newkid, &err), 1);
	/* the old key ring alone no longer opens the store */
	ck_assert_int_eq(rekey_check(old, d, 0, NULL, &err), ERR_NOT_FOUND);
	sb = fresh;
	mfa_free(m);
	m = make_mfa(NULL, &err);
	secretbox_free(old);
	/* codes still work, the signing key still opens with its context */
	now += 60;
	code_at(uri, now, code);
	ck_assert_int_eq(verify(&alice, code, &res), 0);
	code_at(uri_b, now, code);
	ck_assert_int_eq(verify(&bob, code, &res), 0);
	/* prune drops the old key, which nothing uses any more */
	ck_assert_int_eq(secretbox_file_prune(key_path, keep_used, NULL, &dropped, &err), 0);
	ck_assert_int_eq(dropped, 1);
	fresh = secretbox_load(key_path, &err);
	ck_assert_int_eq(secretbox_nkeys(fresh), 1);
	ck_assert_str_eq(secretbox_active_kid(fresh), newkid);
	ck_assert_int_eq(rekey_check(fresh, d, 1, NULL, &err), 0);
	secretbox_free(fresh);
	mfa_recovery_codes_clear(&codes);
}
END_TEST

START_TEST(policy_required)
{
	struct dir_app a = {0};
	struct err err = {0};

	ck_assert_int_eq(mfa_required(d, tenant.id, alice.id, NULL, &err), 0);
	snprintf(a.name, sizeof(a.name), "payroll");
	snprintf(a.redirect_uris[0], sizeof(a.redirect_uris[0]), "https://payroll.acme.test/cb");
	a.n_redirect_uris = 1;
	a.grants = DIR_GRANT_AUTHORIZATION_CODE;
	a.mfa_required = 1;
	snprintf(a.token_alg, sizeof(a.token_alg), "RS256");
	ck_assert_msg(dir_app_create(d, tenant.id, &a, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(mfa_required(d, tenant.id, alice.id, a.id, &err), 1);
	alice.mfa_required = 1;
	ck_assert_int_eq(dir_user_update(d, tenant.id, &alice, &err), 0);
	ck_assert_int_eq(mfa_required(d, tenant.id, alice.id, NULL, &err), 1);
	ck_assert_int_eq(mfa_required(d, tenant.id, bob.id, NULL, &err), 0);
	tenant.mfa_required = 1;
	ck_assert_int_eq(dir_tenant_update(d, &tenant, &err), 0);
	ck_assert_int_eq(mfa_required(d, tenant.id, bob.id, NULL, &err), 1);
	ck_assert_int_eq(mfa_required(d, tenant.id, "nobody", NULL, &err), 1);
	tenant.mfa_required = 0;
	ck_assert_int_eq(dir_tenant_update(d, &tenant, &err), 0);
	ck_assert_int_eq(mfa_required(d, tenant.id, "nobody", NULL, &err), ERR_NOT_FOUND);
}
END_TEST

/* ---- the [mfa] config section ----------------------------------------- */

/* The idp's config needs its [http] section whatever else a test says. */
#define HTTP "[http]\npublic_url = http://127.0.0.1:8443\nplain_http = true\n"

START_TEST(config_section)
{
	struct idp_config ic;
	struct mfa_config mc;
	struct err err = {0};
	char conf[700], shipped[700];
	const char *src = getenv("IDP_SOURCE_ROOT");
	struct mfa *mm;

	snprintf(conf, sizeof(conf), "%s/idp.conf", tmp);
	ck_assert_int_eq(
	        tu_write_file(conf,
	                      "[store]\npath = x.db\n" HTTP "[secrets]\nkey_file = /etc/idp/secret.key\n[mfa]\n"
	                      "issuer = Acme Corp\nalgorithm = sha256\ndigits = 8\n"
	                      "period = 1m\nskew = 2\nmax_failures = 3\n"
	                      "failure_window = 10m\nlockout = 1h\n",
	                      0600),
	        0);
	ck_assert_msg(idp_config_load(conf, &ic, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(ic.key_file, "/etc/idp/secret.key");
	mfa_config_from(&ic, &mc);
	ck_assert_str_eq(mc.issuer, "Acme Corp");
	ck_assert_int_eq(mc.params.alg, OTPAUTH_SHA256);
	ck_assert_uint_eq(mc.params.digits, 8);
	ck_assert_uint_eq(mc.params.period, 60);
	ck_assert_uint_eq(mc.policy.skew, 2);
	ck_assert_int_eq(mc.policy.limits.max_failures, 3);
	ck_assert_int_eq(mc.policy.limits.window, 600);
	ck_assert_int_eq(mc.policy.limits.lockout, 3600);
	mm = mfa_new(&mc, sb, &err);
	ck_assert_msg(mm != NULL, "%s", err.msg);
	mfa_free(mm);
	idp_config_free(&ic);
	/* defaults */
	ck_assert_int_eq(tu_write_file(conf, "[store]\npath = x.db\n" HTTP, 0600), 0);
	ck_assert_int_eq(idp_config_load(conf, &ic, &err), 0);
	ck_assert(ic.key_file == NULL);
	mfa_config_from(&ic, &mc);
	ck_assert_str_eq(mc.issuer, "idp");
	ck_assert_int_eq(mc.params.alg, OTPAUTH_SHA1);
	ck_assert_uint_eq(mc.params.digits, 6);
	ck_assert_uint_eq(mc.params.period, 30);
	ck_assert_uint_eq(mc.policy.skew, 1);
	ck_assert_int_eq(mc.policy.limits.max_failures, 5);
	ck_assert_int_eq(mc.policy.limits.window, 900);
	ck_assert_int_eq(mc.policy.limits.lockout, 900);
	idp_config_free(&ic);
	/* refusals name the line and key */
	ck_assert_int_eq(tu_write_file(conf, "[store]\npath = x.db\n[mfa]\ndigits = 7\n", 0600), 0);
	ck_assert_int_ne(idp_config_load(conf, &ic, &err), 0);
	ck_assert_msg(strstr(err.msg, ":4: [mfa] digits") != NULL, "%s", err.msg);
	ck_assert_int_eq(tu_write_file(conf, "[store]\npath = x.db\n[mfa]\nissuer = a:b\n", 0600),
	                 0);
	ck_assert_int_ne(idp_config_load(conf, &ic, &err), 0);
	ck_assert_msg(strstr(err.msg, "[mfa] issuer") != NULL, "%s", err.msg);
	ck_assert_int_eq(tu_write_file(conf, "[store]\npath = x.db\n[mfa]\nskew = 11\n", 0600), 0);
	ck_assert_int_ne(idp_config_load(conf, &ic, &err), 0);
	ck_assert_int_eq(
	        tu_write_file(conf, "[store]\npath = x.db\n[mfa]\nalgorithm = MD5\n", 0600), 0);
	ck_assert_int_ne(idp_config_load(conf, &ic, &err), 0);
	/* the shipped example has the section, documented and valid */
	if (src != NULL) {
		snprintf(shipped, sizeof(shipped), "%s/conf/idp.conf", src);
		ck_assert_msg(idp_config_load(shipped, &ic, &err) == 0, "%s", err.msg);
		ck_assert(ic.key_file != NULL);
		idp_config_free(&ic);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mfa");
	TCase *tc = tcase_create("mfa");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, enrollment);
	tcase_add_test(tc, oathtool_interop_and_window);
	tcase_add_test(tc, sha512_8_digits_60s_and_zero_skew);
	tcase_add_test(tc, replay_refused_everywhere);
	tcase_add_test(tc, replay_race_between_processes);
	tcase_add_test(tc, lockout_and_cooldown);
	tcase_add_test(tc, recovery_codes_work_once);
	tcase_add_test(tc, no_secret_in_the_database_file);
	tcase_add_test(tc, sealed_secret_moved_to_another_user);
	tcase_add_test(tc, key_check_rotation_and_prune);
	tcase_add_test(tc, policy_required);
	tcase_add_test(tc, config_section);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
