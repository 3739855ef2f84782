/*
 * totp_bench: TOTP verifications per second through the whole path the
 * sign-in page takes (read the factor from the store, open its sealed
 * secret, liboath over the skew window, the atomic replay check and write),
 * beside bare oath_totp_validate() in the same run, and the ratio.
 *
 *   totp_bench [-u USERS] [-t SECONDS_PER_ROW]
 *
 * The store is a real SQLite file under $TMPDIR (or /tmp) with the store's
 * production settings (WAL, synchronous=FULL): an accepted code is a
 * committed, fsynced write, as replay protection across restarts demands.
 * It measures; it never passes or fails.
 */
#define _GNU_SOURCE
#include "mfa.h"

#include "err.h"

#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BENCH_T0 1790000010

static int64_t bench_now = BENCH_T0;

static int64_t bench_clock(void *ctx)
{
	(void)ctx;
	return bench_now;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct user {
	char id[DIR_ID_MAX];
	uint8_t secret[MFA_SECRET_LEN];
	char code[TOTP_CODE_MAX];
};

static void die(const char *what, const struct err *err)
{
	fprintf(stderr, "totp_bench: %s: %s\n", what, err->msg);
	exit(1);
}

/* Everyone's code for the current step of bench_now (untimed). */
static void codes_now(struct user *u, int n, int wrong)
{
	struct totp_params p = TOTP_PARAMS_DEFAULT;
	struct err err = {0};

	for (int i = 0; i < n; i++) {
		if (totp_generate(u[i].secret, MFA_SECRET_LEN, &p, bench_now, u[i].code, &err) != 0)
			die("generate", &err);
		if (wrong) /* a code no step of the window has, most likely */
			u[i].code[5] = (char)('0' + (u[i].code[5] - '0' + 5) % 10);
	}
}

struct row {
	const char *name;
	long ops;
	double secs;
};

static void print_row(const struct row *r, double base)
{
	double rate = (double)r->ops / r->secs;

	printf("| %-56s | %9ld | %10.0f | %8.1f us | %7.4f |\n", r->name, r->ops, rate,
	       1e6 * r->secs / (double)r->ops, rate / base);
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char dirpath[512], db[600], keyf[600], cmd[700];
	struct dir_options o = {0};
	struct mfa_config cfg = MFA_CONFIG_DEFAULT;
	struct dir_tenant t = {0};
	struct err err = {0};
	struct secretbox *sb;
	struct mfa *m;
	struct dir *d;
	struct user *users;
	struct row rows[5];
	struct rusage ru;
	int nusers = 1000, opt, nrows = 0;
	double per_row = 2.0, t0;
	long sink = 0;

	while ((opt = getopt(argc, argv, "u:t:")) != -1) {
		if (opt == 'u')
			nusers = atoi(optarg);
		else if (opt == 't')
			per_row = atof(optarg);
		else {
			fprintf(stderr, "usage: totp_bench [-u USERS] [-t SECONDS_PER_ROW]\n");
			return 2;
		}
	}
	if (nusers < 1 || nusers > 1000000 || per_row <= 0) {
		fprintf(stderr, "totp_bench: users 1..1000000, seconds > 0\n");
		return 2;
	}
	snprintf(dirpath, sizeof(dirpath), "%s/totp-bench-XXXXXX", base);
	if (mkdtemp(dirpath) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/store.db", dirpath);
	snprintf(keyf, sizeof(keyf), "%s/secret.key", dirpath);
	if (secretbox_file_create(keyf, NULL, &err) != 0 ||
	    (sb = secretbox_load(keyf, &err)) == NULL)
		die("key file", &err);
	o.path = db;
	o.clock.now = bench_clock;
	if ((d = dir_open(&o, &err)) == NULL)
		die("store", &err);
	cfg.clock.now = bench_clock;
	cfg.policy.limits.max_failures = 1 << 30; /* measure failures, never lock */
	if ((m = mfa_new(&cfg, sb, &err)) == NULL)
		die("mfa", &err);
	snprintf(t.name, sizeof(t.name), "bench");
	if (dir_tenant_create(d, &t, &err) != 0)
		die("tenant", &err);

	/* Enroll everyone through the real calls, in one transaction. */
	users = calloc((size_t)nusers, sizeof(*users));
	t0 = mono();
	if (dir_begin(d, &err) != 0)
		die("begin", &err);
	for (int i = 0; i < nusers; i++) {
		struct dir_user u = {0};
		struct mfa_enrollment e;
		struct mfa_recovery_codes rc;
		struct mfa_result res;
		struct otpauth k;

		snprintf(u.upn, sizeof(u.upn), "user%06d@bench.test", i);
		u.enabled = 1;
		if (dir_user_create(d, t.id, &u, NULL, &err) != 0)
			die("user", &err);
		memcpy(users[i].id, u.id, sizeof(users[i].id));
		if (mfa_enroll_begin(m, d, t.id, u.id, &e, &err) != 0 ||
		    otpauth_parse(e.uri, &k, &err) != 0)
			die("enroll", &err);
		memcpy(users[i].secret, k.secret, MFA_SECRET_LEN);
		mfa_enrollment_clear(&e);
		codes_now(&users[i], 1, 0);
		if (mfa_enroll_confirm(m, d, t.id, u.id, users[i].code, &res, &rc, &err) != 0)
			die("confirm", &err);
	}
	if (dir_commit(d, &err) != 0)
		die("commit", &err);
	printf("store %s: %d users enrolled in %.2f s (one transaction)\n", db, nusers,
	       mono() - t0);

	/* 1. bare liboath: the current step's code, window ±1, no store */
	bench_now += 30;
	codes_now(users, nusers, 0);
	rows[nrows] = (struct row){"oath_totp_validate (bare liboath, SHA1, window 1)", 0, 0};
	t0 = mono();
	do {
		for (int i = 0; i < nusers; i++) {
			int rc = oath_totp_validate((const char *)users[i].secret, MFA_SECRET_LEN,
			                            (time_t)bench_now, 30, 0, 1, users[i].code);
			sink += rc;
		}
		rows[nrows].ops += nusers;
	} while (mono() - t0 < per_row);
	rows[nrows].secs = mono() - t0;
	nrows++;

	/* 2. our matcher: liboath's callback form, constant-time compare */
	rows[nrows] = (struct row){"totp_match (liboath callback, constant-time compare)", 0, 0};
	t0 = mono();
	do {
		for (int i = 0; i < nusers; i++) {
			struct totp_params p = TOTP_PARAMS_DEFAULT;
			int64_t step;
			sink += totp_match(users[i].secret, MFA_SECRET_LEN, &p, bench_now, 1,
			                   users[i].code, &step, &err);
		}
		rows[nrows].ops += nusers;
	} while (mono() - t0 < per_row);
	rows[nrows].secs = mono() - t0;
	nrows++;

	/* 3. the sign-in path, accepted: each code once, then the next step */
	rows[nrows] = (struct row){"mfa_verify accepted (store read, unseal, atomic write)", 0, 0};
	{
		double spent = 0;
		do {
			codes_now(users, nusers, 0);
			t0 = mono();
			for (int i = 0; i < nusers && spent + (mono() - t0) < per_row; i++) {
				struct mfa_result res;
				if (mfa_verify(m, d, t.id, users[i].id, users[i].code, &res,
				               &err) != 0)
					die("verify (accepted)", &err);
				rows[nrows].ops++;
			}
			spent += mono() - t0;
			bench_now += 30;
		} while (spent < per_row);
		rows[nrows].secs = spent;
	}
	nrows++;

	/* 4. replayed: the codes of the step just used, again (reads only) */
	bench_now -= 30;
	rows[nrows] = (struct row){"mfa_verify replayed (store read, unseal, no write)", 0, 0};
	t0 = mono();
	do {
		for (int i = 0; i < nusers; i++) {
			struct mfa_result res;
			int rc = mfa_verify(m, d, t.id, users[i].id, users[i].code, &res, &err);
			if (rc == 0)
				continue; /* a user the previous row did not reach: first use */
			if (res.status != TOTP_REPLAYED)
				die("verify (replayed)", &err);
			rows[nrows].ops++;
		}
	} while (mono() - t0 < per_row);
	rows[nrows].secs = mono() - t0;
	nrows++;

	/* 5. wrong codes: the whole window computed, a failure counted */
	bench_now += 30;
	codes_now(users, nusers, 1);
	rows[nrows] = (struct row){"mfa_verify wrong code (store read, unseal, count)", 0, 0};
	t0 = mono();
	do {
		for (int i = 0; i < nusers && mono() - t0 < per_row; i++) {
			struct mfa_result res;
			if (mfa_verify(m, d, t.id, users[i].id, users[i].code, &res, &err) == 0)
				continue; /* the changed digit hit a window step: rare, not counted
				           */
			if (res.status != TOTP_WRONG)
				die("verify (wrong)", &err);
			rows[nrows].ops++;
		}
	} while (mono() - t0 < per_row);
	rows[nrows].secs = mono() - t0;
	nrows++;

	printf("\n| %-56s | %9s | %10s | %11s | %7s |\n", "operation (one core)", "count", "ops/s",
	       "per op", "vs bare");
	printf("|%s|%s|%s|%s|%s|\n", "----------------------------------------------------------",
	       "----------:", "-----------:", "------------:", "--------:");
	for (int i = 0; i < nrows; i++)
		print_row(&rows[i], (double)rows[0].ops / rows[0].secs);
	getrusage(RUSAGE_SELF, &ru);
	printf("\npeak RSS %.1f MB; ratio = ops/s divided by bare oath_totp_validate's, same run\n",
	       (double)ru.ru_maxrss / 1024.0);
	printf("(an accepted code is a durable write: WAL with synchronous=FULL, so row 3 is\n"
	       " bounded by the disk's fsync rate, not by the CPU)\n");
	if (sink == 42)
		printf(" ");

	mfa_free(m);
	dir_close(d);
	secretbox_free(sb);
	free(users);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dirpath);
	if (system(cmd) != 0)
		fprintf(stderr, "totp_bench: could not remove %s\n", dirpath);
	return 0;
}
