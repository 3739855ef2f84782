/*
 * signin_bench: what the sign-in risk engine costs with a big log.
 *
 * Builds a store whose sign-in log holds --rows rows (10 million by
 * default) spread over --days days for --users users at home addresses in
 * 64 cities of a geo database written here, with a share of failures and of
 * risky rows; then measures, on the newest day:
 *
 *  - the detection cost per sign-in: risk_assess() (every detection's
 *    reads) for correct passwords, and risk_record() (the row with its
 *    detections, counters, learning, in one transaction) for correct and
 *    wrong passwords and wrong second factors; beside them, measured in the
 *    same run, the plain append of a row (the log without the engine) and
 *    one argon2id password check at the OWASP parameters (what the password
 *    step costs anyway);
 *  - report queries over a one-day window: counts per hour, the summary's
 *    three top lists, the first page of risky sign-ins, of all sign-ins,
 *    of one user's, and a page ten pages deep.
 *
 * Prints tables; never passes or fails.
 *
 *   signin_bench [--rows N] [--users N] [--days N] [--samples N] [--dir DIR] [--keep]
 */
#include "dir.h"
#include "mmdb_write.h"
#include "risk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const char *const agents[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
};

#define NCITIES 64

struct user {
	char id[DIR_ID_MAX];
	char upn[48];
	int city;
	int net; /* third octet of the home /24 */
	int agent;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double p50, p99, mean;
};

static struct stats summarize(double *v, int n)
{
	struct stats s = {0, 0, 0};

	if (n == 0)
		return s;
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	for (int i = 0; i < n; i++)
		s.mean += v[i];
	s.mean /= n;
	s.p50 = v[n / 2];
	s.p99 = v[(int)((double)n * 0.99) < n ? (int)((double)n * 0.99) : n - 1];
	return s;
}

static void fail(const char *what, const struct err *err)
{
	fprintf(stderr, "signin_bench: %s: %s\n", what, err->msg);
	exit(1);
}

static void home_ip(const struct user *u, char *out, size_t cap)
{
	snprintf(out, cap, "%d.%d.%d.%d", 20 + u->city, 1 + (u->net >> 8), u->net & 0xff,
	         1 + (int)(rnd() % 250));
}

static int64_t start_of(int64_t now)
{
	return now - 86400;
}

static int count_cb(void *ctx, const struct dir_signin *s)
{
	(void)s;
	(*(int *)ctx)++;
	return 0;
}

struct page_cb {
	int n;
	int64_t t, id;
};

static int page_row(void *ctx, const struct dir_signin *s)
{
	struct page_cb *p = ctx;

	p->n++;
	p->t = s->time;
	p->id = s->id;
	return 0;
}

static int counts_cb(void *ctx, int64_t start, const char *result, int64_t n)
{
	(void)start;
	(void)result;
	*(int64_t *)ctx += n;
	return 0;
}

static int top_cb(void *ctx, const char *v, int64_t n, int64_t names)
{
	(void)v;
	(void)names;
	*(int64_t *)ctx += n;
	return 0;
}

int main(int argc, char **argv)
{
	long long rows = 10000000, nusers = 20000, days = 30, samples = 2000;
	const char *base = NULL;
	char dirbuf[256], db[512], geo[512];
	int keep = 0;
	struct dir_options o;
	struct dir *d;
	struct dir_tenant t;
	struct err err = {0};
	struct user *users;
	struct risk *rk;
	struct risk_config rc;
	struct mmdb_writer *w;
	int64_t now = (int64_t)time(NULL), start;
	double t0, gen_s;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
			rows = atoll(argv[++i]);
		else if (strcmp(argv[i], "--users") == 0 && i + 1 < argc)
			nusers = atoll(argv[++i]);
		else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc)
			days = atoll(argv[++i]);
		else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
			samples = atoll(argv[++i]);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			base = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = 1;
		else {
			fprintf(stderr, "usage: signin_bench [--rows N] [--users N] [--days N] "
			                "[--samples N] [--dir DIR] [--keep]\n");
			return 2;
		}
	}
	if (rows < 1000 || nusers < 100 || days < 2 || samples < 10) {
		fprintf(stderr,
		        "signin_bench: at least 1000 rows, 100 users, 2 days, 10 samples\n");
		return 2;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s/signin-bench-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(dirbuf) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/store.db", dirbuf);
	snprintf(geo, sizeof(geo), "%s/geo.mmdb", dirbuf);

	/* a geo database of 64 cities, one /8 each */
	w = mmdb_writer_new();
	for (int c = 0; c < NCITIES; c++) {
		char cidr[32], cc[4], city[16];
		snprintf(cidr, sizeof(cidr), "%d.0.0.0/8", 20 + c);
		snprintf(cc, sizeof(cc), "%c%c", 'A' + c % 26, 'A' + (c / 26) % 26);
		snprintf(city, sizeof(city), "City %d", c);
		mmdb_writer_add(w, cidr, cc, city, -60 + (double)(c * 7 % 120), -170 + c * 5.3, 20);
	}
	if (mmdb_writer_save(w, geo) != 0) {
		fprintf(stderr, "signin_bench: cannot write %s\n", geo);
		return 1;
	}
	mmdb_writer_free(w);

	memset(&o, 0, sizeof(o));
	o.path = db;
	o.argon2.t_cost = 1;
	o.argon2.m_cost_kib = 64;
	o.argon2.lanes = 1;
	if ((d = dir_open(&o, &err)) == NULL)
		fail("open", &err);
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "bench");
	if (dir_tenant_create(d, &t, &err) != 0)
		fail("tenant", &err);
	users = calloc((size_t)nusers, sizeof(*users));
	if (dir_begin(d, &err) != 0)
		fail("begin", &err);
	for (long long i = 0; i < nusers; i++) {
		struct dir_user u;
		memset(&u, 0, sizeof(u));
		snprintf(u.upn, sizeof(u.upn), "user%06lld@contoso.example", i);
		u.enabled = 1;
		if (dir_user_create(d, t.id, &u, NULL, &err) != 0)
			fail("user", &err);
		snprintf(users[i].id, sizeof(users[i].id), "%s", u.id);
		snprintf(users[i].upn, sizeof(users[i].upn), "%s", u.upn);
		users[i].city = (int)(rnd() % NCITIES);
		users[i].net = (int)(rnd() % 60000);
		users[i].agent = (int)(rnd() % 4);
	}
	/* each user's familiar country, browser and home network, as good sign-ins taught them */
	for (long long i = 0; i < nusers; i++) {
		char cc[4], fam[64], ip[64], net[64];
		snprintf(cc, sizeof(cc), "%c%c", 'A' + users[i].city % 26,
		         'A' + (users[i].city / 26) % 26);
		risk_ua_family(agents[users[i].agent], fam, sizeof(fam));
		home_ip(&users[i], ip, sizeof(ip));
		risk_ip_network(ip, net, sizeof(net));
		for (int k = 0; k < 5; k++)
			if (dir_profile_learn(d, t.id, users[i].id, DIR_PROFILE_SIGNIN, "",
			                      start_of(now), &err) != 0)
				fail("profile", &err);
		if (dir_profile_learn(d, t.id, users[i].id, DIR_PROFILE_COUNTRY, cc, now, &err) !=
		            0 ||
		    dir_profile_learn(d, t.id, users[i].id, DIR_PROFILE_DEVICE, fam, now, &err) !=
		            0 ||
		    dir_profile_learn(d, t.id, users[i].id, DIR_PROFILE_NETWORK, net, now, &err) !=
		            0)
			fail("profile", &err);
	}
	if (dir_commit(d, &err) != 0)
		fail("commit", &err);

	/* the log: rows in time order over the days, in big transactions */
	fprintf(stderr,
	        "signin_bench: writing %lld sign-in rows for %lld users over %lld days "
	        "into %s\n",
	        rows, nusers, days, db);
	start = now - days * 86400;
	if (dir_signin_bulk(d, 1, &err) != 0)
		fail("bulk", &err);
	t0 = now_us();
	for (long long i = 0; i < rows; i++) {
		struct dir_signin s;
		struct user *u = &users[rnd() % (uint64_t)nusers];
		uint64_t r = rnd() % 1000;

		if (i % 200000 == 0 && dir_begin(d, &err) != 0)
			fail("begin", &err);
		memset(&s, 0, sizeof(s));
		s.time = start + (int64_t)((double)i / (double)rows * (double)(days * 86400));
		snprintf(s.user_id, sizeof(s.user_id), "%s", u->id);
		snprintf(s.username, sizeof(s.username), "%s", u->upn);
		snprintf(s.step, sizeof(s.step), "%s",
		         r < 900   ? "password"
		         : r < 970 ? "sso"
		                   : "mfa");
		snprintf(s.result, sizeof(s.result), "%s", r % 50 == 7 ? "failure" : "success");
		if (r % 50 == 7)
			snprintf(s.reason, sizeof(s.reason), "%s",
			         r % 3 ? "wrong password" : "unknown user");
		home_ip(u, s.ip, sizeof(s.ip));
		snprintf(s.user_agent, sizeof(s.user_agent), "%s", agents[u->agent]);
		snprintf(s.country, sizeof(s.country), "%c%c", 'A' + u->city % 26,
		         'A' + (u->city / 26) % 26);
		snprintf(s.city, sizeof(s.city), "City %d", u->city);
		s.has_geo = 1;
		s.lat = -60 + (double)(u->city * 7 % 120);
		s.lon = -170 + u->city * 5.3;
		snprintf(s.factors, sizeof(s.factors), "pwd");
		if (r == 3) {
			snprintf(s.risk, sizeof(s.risk), "medium");
			snprintf(s.detections, sizeof(s.detections),
			         "[{\"name\":\"unfamiliar_device\",\"level\":\"medium\",\"reason\":"
			         "\"a browser never used from a network never "
			         "seen\",\"evidence\":{}}]");
		}
		if (dir_signin_append(d, t.id, &s, &err) != 0)
			fail("append", &err);
		if (i % 200000 == 199999 || i == rows - 1) {
			if (dir_commit(d, &err) != 0)
				fail("commit", &err);
			if (i % 1000000 == 999999)
				fprintf(stderr, "  %lld rows, %.0f rows/s\n", i + 1,
				        (double)(i + 1) / ((now_us() - t0) / 1e6));
		}
	}
	gen_s = (now_us() - t0) / 1e6;
	/* measure with the page cache the idp runs with */
	if (dir_signin_bulk(d, 0, &err) != 0)
		fail("bulk", &err);
	if (dir_checkpoint(d, &err) != 0)
		fail("checkpoint", &err);
	stat(db, &st);

	/* the engine, with the geo database and a list of 1000 networks */
	risk_config_defaults(&rc);
	rc.geo_database = geo;
	if ((rk = risk_new(&rc, &err)) == NULL)
		fail("engine", &err);

	printf("signin_bench: %lld rows, %lld users, %lld days; written in %.1f s (%.0f rows/s); "
	       "store %.2f GB after checkpoint\n\n",
	       rows, nusers, days, gen_s, (double)rows / gen_s, (double)st.st_size / 1e9);

	{
		double *assess = calloc((size_t)samples, sizeof(double));
		double *rec_ok = calloc((size_t)samples, sizeof(double));
		double *rec_bad = calloc((size_t)samples, sizeof(double));
		double *rec_mfa = calloc((size_t)samples, sizeof(double));
		double *plain = calloc((size_t)samples, sizeof(double));
		double *argon = calloc(20, sizeof(double));
		struct stats s1, s2, s3, s4, s5, s6;
		struct dir_argon2 owasp = DIR_ARGON2_DEFAULT;
		struct dir_options o2 = o;
		struct dir *d2;
		struct dir_user pu;

		for (long long i = 0; i < samples; i++) {
			struct user *u = &users[rnd() % (uint64_t)nusers];
			struct risk_attempt a;
			struct risk_verdict v;
			struct dir_signin row;
			char ip[64];
			double x;
			int travel = i % 20 == 0; /* now and then from another city */

			home_ip(u, ip, sizeof(ip));
			if (travel)
				snprintf(ip, sizeof(ip), "%d.9.9.%d", 20 + (u->city + 7) % NCITIES,
				         (int)(i % 250));
			memset(&a, 0, sizeof(a));
			a.tenant_id = t.id;
			a.user_id = u->id;
			a.username = u->upn;
			a.ip = ip;
			a.user_agent = agents[u->agent];
			a.now = now + i;
			/* a correct password: the reads of every detection */
			x = now_us();
			risk_begin(rk, &a, &v);
			if (risk_precheck(rk, d, &a, &v, &err) != 0 ||
			    risk_assess(rk, d, &a, &v, &err) != 0)
				fail("assess", &err);
			assess[i] = now_us() - x;
			/* ... and its row, learning, counters: one transaction */
			memset(&row, 0, sizeof(row));
			snprintf(row.user_id, sizeof(row.user_id), "%s", u->id);
			snprintf(row.username, sizeof(row.username), "%s", u->upn);
			snprintf(row.step, sizeof(row.step), "password");
			snprintf(row.result, sizeof(row.result), "%s",
			         v.decision == RISK_BLOCK ? "blocked" : "success");
			x = now_us();
			if (risk_record(rk, d, &a, RISK_EV_PASSWORD_OK, &row, &v, &err) != 0)
				fail("record", &err);
			rec_ok[i] = now_us() - x;
			risk_done(rk, &v);
			/* a wrong password: brute force and spray are counted as it is written */
			risk_begin(rk, &a, &v);
			memset(&row, 0, sizeof(row));
			snprintf(row.user_id, sizeof(row.user_id), "%s", u->id);
			snprintf(row.username, sizeof(row.username), "%s", u->upn);
			snprintf(row.step, sizeof(row.step), "password");
			snprintf(row.result, sizeof(row.result), "failure");
			x = now_us();
			if (risk_record(rk, d, &a, RISK_EV_PASSWORD_FAILED, &row, &v, &err) != 0)
				fail("record failure", &err);
			rec_bad[i] = now_us() - x;
			/* a wrong second factor: fatigue counted */
			risk_begin(rk, &a, &v);
			snprintf(row.step, sizeof(row.step), "mfa");
			x = now_us();
			if (risk_record(rk, d, &a, RISK_EV_MFA_FAILED, &row, &v, &err) != 0)
				fail("record mfa", &err);
			rec_mfa[i] = now_us() - x;
			/* the reference: the same row appended without the engine */
			memset(&row, 0, sizeof(row));
			row.time = a.now;
			snprintf(row.user_id, sizeof(row.user_id), "%s", u->id);
			snprintf(row.username, sizeof(row.username), "%s", u->upn);
			snprintf(row.step, sizeof(row.step), "password");
			snprintf(row.result, sizeof(row.result), "success");
			snprintf(row.ip, sizeof(row.ip), "%s", ip);
			snprintf(row.user_agent, sizeof(row.user_agent), "%s", agents[u->agent]);
			x = now_us();
			if (dir_signin_append(d, t.id, &row, &err) != 0)
				fail("append", &err);
			plain[i] = now_us() - x;
		}
		/* the password check itself at OWASP's argon2id parameters */
		o2.argon2 = owasp;
		if ((d2 = dir_open(&o2, &err)) == NULL)
			fail("open", &err);
		memset(&pu, 0, sizeof(pu));
		snprintf(pu.upn, sizeof(pu.upn), "argon@contoso.example");
		pu.enabled = 1;
		if (dir_user_create(d2, t.id, &pu, "Correct-Horse-1", &err) != 0)
			fail("argon user", &err);
		for (int i = 0; i < 20; i++) {
			double x = now_us();
			if (dir_user_check_password(d2, t.id, pu.id, "Correct-Horse-1", &err) != 0)
				fail("password", &err);
			argon[i] = now_us() - x;
		}
		dir_close(d2);
		s1 = summarize(assess, (int)samples);
		s2 = summarize(rec_ok, (int)samples);
		s3 = summarize(rec_bad, (int)samples);
		s4 = summarize(rec_mfa, (int)samples);
		s5 = summarize(plain, (int)samples);
		s6 = summarize(argon, 20);
		printf("Detection cost per sign-in (%lld samples each, %lld rows in the log)\n",
		       samples, rows);
		printf("| step | p50 µs | p99 µs | mean µs | vs plain append | vs argon2id check "
		       "|\n");
		printf("|---|---:|---:|---:|---:|---:|\n");
#define ROW(name, s)                                                                               \
	printf("| %s | %.0f | %.0f | %.0f | %.2fx | %.3fx |\n", name, s.p50, s.p99, s.mean,        \
	       s.mean / s5.mean, s.mean / s6.mean)
		ROW("assess a correct password (all detections' reads)", s1);
		ROW("record it (row, learning, counters; 1 commit)", s2);
		ROW("record a wrong password (lockout, spray; 1 commit)", s3);
		ROW("record a wrong second factor (fatigue; 1 commit)", s4);
		ROW("reference: plain append of a row (1 commit)", s5);
		ROW("reference: argon2id check, 19 MiB/2 passes", s6);
		printf("\n");
		free(assess);
		free(rec_ok);
		free(rec_bad);
		free(rec_mfa);
		free(plain);
		free(argon);
	}

	{
		int64_t from = now - 86400, to = now + 1;
		const int reps = 5;
		struct {
			const char *name;
			double ms[5];
			int64_t n;
		} q[8];
		int nq = 0;
		struct user *u = &users[0];

		memset(q, 0, sizeof(q));
		for (int r = 0; r < reps; r++) {
			double x;
			int k = 0;
			struct dir_signin_search s;
			struct page_cb pc;
			int n = 0;
			int64_t sum = 0;

			x = now_us();
			if (dir_signin_counts(d, t.id, from, to, 3600, counts_cb, &sum, &err) != 0)
				fail("counts", &err);
			q[k].name = "counts per hour by result (24 buckets)";
			q[k].n = sum;
			q[k++].ms[r] = (now_us() - x) / 1000;
			for (int wtop = 0; wtop < 3; wtop++) {
				static const char *const names[] = {"failures by reason (top 10)",
				                                    "top failing sources (top 10)",
				                                    "detections by name (top 10)"};
				sum = 0;
				x = now_us();
				if (dir_signin_top(d, t.id, from, to, (enum dir_signin_top)wtop, 10,
				                   top_cb, &sum, &err) != 0)
					fail("top", &err);
				q[k].name = names[wtop];
				q[k].n = sum;
				q[k++].ms[r] = (now_us() - x) / 1000;
			}
			memset(&s, 0, sizeof(s));
			s.from = from;
			s.to = to;
			s.limit = 100;
			s.min_risk = DIR_RISK_LOW;
			n = 0;
			x = now_us();
			if (dir_signin_search(d, t.id, &s, count_cb, &n, &err) != 0)
				fail("risky", &err);
			q[k].name = "risky sign-ins, first page of 100";
			q[k].n = n;
			q[k++].ms[r] = (now_us() - x) / 1000;
			s.min_risk = 0;
			n = 0;
			x = now_us();
			if (dir_signin_search(d, t.id, &s, count_cb, &n, &err) != 0)
				fail("page", &err);
			q[k].name = "sign-ins, first page of 100";
			q[k].n = n;
			q[k++].ms[r] = (now_us() - x) / 1000;
			s.user_id = u->id;
			n = 0;
			x = now_us();
			if (dir_signin_search(d, t.id, &s, count_cb, &n, &err) != 0)
				fail("user", &err);
			q[k].name = "one user's sign-ins (filter by user)";
			q[k].n = n;
			q[k++].ms[r] = (now_us() - x) / 1000;
			s.user_id = NULL;
			memset(&pc, 0, sizeof(pc));
			x = now_us();
			for (int p = 0; p < 10; p++) {
				s.before_time = pc.t;
				s.before_id = pc.id;
				pc.n = 0;
				if (dir_signin_search(d, t.id, &s, page_row, &pc, &err) != 0)
					fail("pages", &err);
			}
			q[k].name = "ten pages of 100, cursor to cursor";
			q[k].n = 1000;
			q[k++].ms[r] = (now_us() - x) / 1000;
			nq = k;
		}
		printf("Report queries over a one-day window (median of %d runs)\n", reps);
		printf("| query | rows seen | ms |\n|---|---:|---:|\n");
		for (int k = 0; k < nq; k++) {
			qsort(q[k].ms, (size_t)reps, sizeof(double), cmp_double);
			printf("| %s | %lld | %.1f |\n", q[k].name, (long long)q[k].n,
			       q[k].ms[reps / 2]);
		}
	}
	risk_free(rk);
	dir_close(d);
	free(users);
	if (!keep) {
		char path[600];
		const char *files[] = {"store.db", "store.db-wal", "store.db-shm", "geo.mmdb"};
		for (size_t i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%s", dirbuf, files[i]);
			unlink(path);
		}
		rmdir(dirbuf);
	} else {
		fprintf(stderr, "signin_bench: kept %s\n", dirbuf);
	}
	return 0;
}
