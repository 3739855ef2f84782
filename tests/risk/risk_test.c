/*
 * risk_test: the sign-in risk engine on a real SQLite store in a temp
 * directory, with a geo database the test writes itself (mmdb_write.c)
 * and read back through libmaxminddb.  Every detection is driven by a
 * synthetic sequence of attempts whose times the test chooses (the engine
 * takes "now" from the attempt), each with its negatives: travel under
 * the speed limit and short hops, a few typos, one user on two devices, an
 * office address whose users mistype, a window that has passed.
 */
#include "risk.h"
#include "risk_internal.h" /* risk_add, for the bounds test */

#include "mmdb_write.h"
#include "testutil.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1764000000LL /* 2025-11-24 16:00 UTC */

#define UA_FIREFOX  "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
#define UA_FIREFOX2 "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
#define UA_CHROME_WIN                                                                              \
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "        \
	"Chrome/126.0.0.0 Safari/537.36"
#define UA_SAFARI_IOS                                                                              \
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "     \
	"like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

/* Addresses of the test's geo database. */
#define IP_LONDON     "81.2.69.10"
#define IP_LONDON2    "81.2.69.77"  /* same /24 as IP_LONDON */
#define IP_MANCHESTER "81.2.70.20"  /* 262 km from London: a short hop */
#define IP_GB_OTHER   "81.2.99.5"   /* in the wider GB network, no city */
#define IP_PARIS      "2.2.2.2"     /* 344 km from London */
#define IP_NEWYORK    "24.24.24.24" /* 5,570 km */
#define IP_TOKYO      "126.0.2.3"   /* 9,560 km */
#define IP_BERLIN6    "2001:db8:100::1"
#define IP_TOR        "203.0.113.9"
#define IP_BOTNET     "198.51.100.66"

struct fx {
	const char *dir;
	char db[512], geo[512], nets[512];
	struct dir *d;
	struct risk *rk;
	struct dir_tenant t;
	char alice[DIR_ID_MAX], bob[DIR_ID_MAX], carol[DIR_ID_MAX];
};

static struct fx F;

static void build_geo(const char *path)
{
	struct mmdb_writer *w = mmdb_writer_new();

	ck_assert_ptr_nonnull(w);
	/* a wide network first: the narrower ones inside it win for their addresses */
	ck_assert_int_eq(mmdb_writer_add(w, "81.2.0.0/16", "GB", NULL, 51.5, -0.12, 200), 0);
	ck_assert_int_eq(mmdb_writer_add(w, "81.2.69.0/24", "GB", "London", 51.5074, -0.1278, 5),
	                 0);
	ck_assert_int_eq(
	        mmdb_writer_add(w, "81.2.70.0/24", "GB", "Manchester", 53.4808, -2.2426, 10), 0);
	ck_assert_int_eq(mmdb_writer_add(w, "2.2.2.0/24", "FR", "Paris", 48.8566, 2.3522, 10), 0);
	ck_assert_int_eq(
	        mmdb_writer_add(w, "24.24.24.0/24", "US", "New York", 40.7128, -74.0060, 10), 0);
	ck_assert_int_eq(mmdb_writer_add(w, "126.0.0.0/16", "JP", "Tokyo", 35.6762, 139.6503, 50),
	                 0);
	ck_assert_int_eq(mmdb_writer_add(w, "2001:db8:100::/48", "DE", "Berlin", 52.52, 13.405, 20),
	                 0);
	ck_assert_int_eq(mmdb_writer_add(w, "203.0.113.0/24", "NL", "Amsterdam", 52.37, 4.89, 50),
	                 0);
	ck_assert_int_eq(mmdb_writer_save(w, path), 0);
	mmdb_writer_free(w);
}

static struct risk *make_engine(const char *geo, const char *nets, struct err *err)
{
	static const char *const proxies[] = {"10.0.0.0/8", "fd00::/8"};
	struct risk_config c;

	risk_config_defaults(&c);
	c.geo_database = geo;
	c.listed_networks = nets;
	c.trusted_proxies = proxies;
	c.n_trusted_proxies = 2;
	return risk_new(&c, err);
}

static void make_user(const char *upn, char *id)
{
	struct dir_user u;
	struct err err = {0};

	memset(&u, 0, sizeof(u));
	snprintf(u.upn, sizeof(u.upn), "%s", upn);
	u.enabled = 1;
	ck_assert_msg(dir_user_create(F.d, F.t.id, &u, NULL, &err) == 0, "%s", err.msg);
	snprintf(id, DIR_ID_MAX, "%s", u.id);
}

static void setup(void)
{
	struct dir_options o;
	struct err err = {0};

	memset(&F, 0, sizeof(F));
	F.dir = tu_tmpdir();
	snprintf(F.db, sizeof(F.db), "%s/store.db", F.dir);
	snprintf(F.geo, sizeof(F.geo), "%s/geo.mmdb", F.dir);
	snprintf(F.nets, sizeof(F.nets), "%s/networks.txt", F.dir);
	build_geo(F.geo);
	ck_assert_int_eq(tu_write_file(F.nets,
	                               "# test list\n"
	                               "203.0.113.0/24 anonymous Tor exit relays\n"
	                               "198.51.100.0/24 malicious botnet C2\n"
	                               "2001:db8:dead::/48\n",
	                               0644),
	                 0);
	memset(&o, 0, sizeof(o));
	o.path = F.db;
	o.argon2.t_cost = 1;
	o.argon2.m_cost_kib = 64;
	o.argon2.lanes = 1;
	F.d = dir_open(&o, &err);
	ck_assert_msg(F.d != NULL, "%s", err.msg);
	memset(&F.t, 0, sizeof(F.t));
	snprintf(F.t.name, sizeof(F.t.name), "acme");
	ck_assert_int_eq(dir_tenant_create(F.d, &F.t, &err), 0);
	make_user("alice@acme.test", F.alice);
	make_user("bob@acme.test", F.bob);
	make_user("carol@acme.test", F.carol);
	F.rk = make_engine(F.geo, F.nets, &err);
	ck_assert_msg(F.rk != NULL, "%s", err.msg);
}

static void teardown(void)
{
	struct err err = {0};

	ck_assert_msg(dir_integrity_check(F.d, &err) == 0, "%s", err.msg);
	risk_free(F.rk);
	dir_close(F.d);
	tu_rmtree(F.dir);
}

/* What the sign-in path does (login.c, mfa_flow.c), on the engine alone. */
enum how { PW_OK, PW_BAD, MFA_BAD, MFA_OK };

struct outcome {
	struct risk_verdict v;
	struct dir_signin row;
};

static struct outcome attempt(const char *name, const char *ip, const char *ua, int64_t t,
                              enum how how)
{
	struct outcome o;
	struct dir_user u;
	struct risk_attempt a;
	struct err err = {0};
	enum risk_event ev;
	int found = dir_user_get_by_upn(F.d, F.t.id, name, &u, &err) == 0;

	memset(&o, 0, sizeof(o));
	memset(&a, 0, sizeof(a));
	a.tenant_id = F.t.id;
	a.user_id = found ? u.id : NULL;
	a.username = name;
	a.ip = ip;
	a.user_agent = ua;
	a.now = t;
	risk_begin(F.rk, &a, &o.v);
	snprintf(o.row.user_id, sizeof(o.row.user_id), "%s", found ? u.id : "");
	snprintf(o.row.username, sizeof(o.row.username), "%s", name);
	snprintf(o.row.step, sizeof(o.row.step), "%s",
	         how == MFA_BAD || how == MFA_OK ? "mfa" : "password");
	if (how == MFA_BAD || how == MFA_OK) {
		ev = how == MFA_OK ? RISK_EV_MFA_OK : RISK_EV_MFA_FAILED;
		snprintf(o.row.result, sizeof(o.row.result), "%s",
		         how == MFA_OK ? "success" : "failure");
	} else {
		ck_assert_msg(risk_precheck(F.rk, F.d, &a, &o.v, &err) == 0, "%s", err.msg);
		if (o.v.decision == RISK_LOCKED) {
			ev = RISK_EV_LOCKED;
			snprintf(o.row.result, sizeof(o.row.result), "locked");
		} else if (how == PW_BAD || !found) {
			ev = RISK_EV_PASSWORD_FAILED;
			snprintf(o.row.result, sizeof(o.row.result), "failure");
			snprintf(o.row.reason, sizeof(o.row.reason), "wrong password");
		} else {
			ck_assert_msg(risk_assess(F.rk, F.d, &a, &o.v, &err) == 0, "%s", err.msg);
			ev = RISK_EV_PASSWORD_OK;
			snprintf(o.row.result, sizeof(o.row.result), "%s",
			         o.v.decision == RISK_BLOCK ? "blocked" : "success");
		}
	}
	ck_assert_msg(risk_record(F.rk, F.d, &a, ev, &o.row, &o.v, &err) == 0, "%s", err.msg);
	risk_done(F.rk, &o.v);
	return o;
}

static int has(const struct outcome *o, const char *name)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "\"name\":\"%s\"", name);
	return strstr(o->row.detections, needle) != NULL;
}

/* The evidence object of detection name in o's row (new reference), or NULL. */
static json_t *evidence(const struct outcome *o, const char *name)
{
	json_t *arr = json_loads(o->row.detections, 0, NULL), *d, *ev = NULL;
	size_t i;

	ck_assert_ptr_nonnull(arr);
	json_array_foreach(arr, i,
	                   d) if (strcmp(json_string_value(json_object_get(d, "name")), name) == 0)
	        ev = json_incref(json_object_get(d, "evidence"));
	json_decref(arr);
	return ev;
}

/* Give a user a confirmed second factor (the sealed secret is opaque to the store). */
static void enroll(const char *user_id)
{
	struct dir_totp t;
	struct err err = {0};
	const char *codes[] = {"0000000000000000000000000000000000000000000000000000000000000000"};

	memset(&t, 0, sizeof(t));
	snprintf(t.user_id, sizeof(t.user_id), "%s", user_id);
	snprintf(t.secret_enc, sizeof(t.secret_enc), "sealed-test-secret");
	snprintf(t.algorithm, sizeof(t.algorithm), "SHA1");
	t.digits = 6;
	t.period = 30;
	ck_assert_int_eq(dir_totp_put_pending(F.d, F.t.id, &t, &err), 0);
	ck_assert_int_eq(
	        dir_totp_confirm(F.d, F.t.id, user_id, "sealed-test-secret", 1, T0, codes, 1, &err),
	        0);
}

/* A few good sign-ins from home, so the profile has learned the user. */
static void history(const char *upn, const char *ip, const char *ua, int64_t start)
{
	for (int i = 0; i < 4; i++) {
		struct outcome o = attempt(upn, ip, ua, start + i * 3600, PW_OK);
		ck_assert_str_eq(o.row.result, "success");
		ck_assert_str_eq(o.row.risk, "none");
	}
}

/* ---- geo, networks, proxies, agents --------------------------------------- */

START_TEST(geo_lookups)
{
	const struct geo *g = risk_geo(F.rk);
	struct geo_place p;
	struct err err = {0};
	char path[600];

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(geo_lookup(g, IP_LONDON, &p), 0);
	ck_assert_str_eq(p.country, "GB");
	ck_assert_str_eq(p.city, "London");
	ck_assert(p.has_location && fabs(p.lat - 51.5074) < 1e-9 && fabs(p.lon + 0.1278) < 1e-9);
	ck_assert_int_eq(p.accuracy_km, 5);
	ck_assert_int_eq(geo_lookup(g, IP_GB_OTHER, &p), 0); /* the wider network */
	ck_assert_str_eq(p.country, "GB");
	ck_assert_str_eq(p.city, "");
	ck_assert_int_eq(geo_lookup(g, IP_BERLIN6, &p), 0);
	ck_assert_str_eq(p.city, "Berlin");
	ck_assert_int_eq(geo_lookup(g, "::ffff:81.2.69.10", &p), 0); /* v4-mapped */
	ck_assert_str_eq(p.city, "London");
	ck_assert_int_eq(geo_lookup(g, "9.9.9.9", &p), ERR_NOT_FOUND);
	ck_assert_int_eq(geo_lookup(g, "not an address", &p), ERR_INVALID);
	ck_assert_int_eq(geo_lookup(g, "81.2.69.10; DROP", &p), ERR_INVALID);
	/* distances the detections rely on */
	ck_assert(fabs(geo_distance_km(51.5074, -0.1278, 48.8566, 2.3522) - 344) < 2);
	ck_assert(fabs(geo_distance_km(51.5074, -0.1278, 35.6762, 139.6503) - 9560) < 15);
	ck_assert(geo_distance_km(10, 20, 10, 20) == 0);
	/* hostile database files: missing, garbage, truncated */
	snprintf(path, sizeof(path), "%s/none.mmdb", F.dir);
	ck_assert_ptr_null(geo_open(path, &err));
	ck_assert_int_eq(err.code, ERR_IO);
	snprintf(path, sizeof(path), "%s/garbage.mmdb", F.dir);
	ck_assert_int_eq(tu_write_file(path, "this is not a MaxMind database at all\n", 0644), 0);
	ck_assert_ptr_null(geo_open(path, &err));
	ck_assert_int_eq(err.code, ERR_CORRUPT);
	{
		size_t len;
		char *whole = tu_read_file(F.geo, &len);
		FILE *f;
		ck_assert_ptr_nonnull(whole);
		snprintf(path, sizeof(path), "%s/truncated.mmdb", F.dir);
		f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		fwrite(whole, 1, len / 2, f);
		fclose(f);
		free(whole);
		ck_assert_ptr_null(geo_open(path, &err));
	}
}
END_TEST

START_TEST(network_list)
{
	struct risk_net_match m;
	struct err err = {0};
	char path[600];
	static const struct {
		const char *text, *why;
	} bad[] = {
	        {"10.0.0.1/8\n", "host bits"},
	        {"300.1.2.3\n", "not a numeric"},
	        {"10.0.0.0/33\n", "prefix length"},
	        {"10.0.0.0/-1\n", "prefix length"},
	        {"10.0.0.0/\n", "prefix length"},
	        {"10.0.0.0/ 8\n", "neither anonymous nor malicious"},
	        {"10.0.0.0/8 evil\n", "neither anonymous nor malicious"},
	        {"fe80::/129\n", "prefix length"},
	        {"\n\n1.2.3.0/24 anonymous \xff\xfe\n", "not UTF-8"},
	};

	ck_assert_int_eq(risk_nets_find(NULL, IP_TOR, &m), 0);
	{
		struct risk_nets *n = risk_nets_load(F.nets, &err);
		ck_assert_msg(n != NULL, "%s", err.msg);
		ck_assert_int_eq(risk_nets_count(n), 3);
		ck_assert_int_eq(risk_nets_find(n, IP_TOR, &m), 1);
		ck_assert_str_eq(m.cidr, "203.0.113.0/24");
		ck_assert_str_eq(m.category, "anonymous");
		ck_assert_str_eq(m.label, "Tor exit relays");
		ck_assert_int_eq(m.level, DIR_RISK_MEDIUM);
		ck_assert_int_eq(risk_nets_find(n, IP_BOTNET, &m), 1);
		ck_assert_int_eq(m.level, DIR_RISK_HIGH);
		ck_assert_int_eq(risk_nets_find(n, "2001:db8:dead:1::5", &m), 1);
		ck_assert_int_eq(risk_nets_find(n, "2001:db8:beef::5", &m), 0);
		ck_assert_int_eq(risk_nets_find(n, "203.0.114.1", &m), 0);
		ck_assert_int_eq(risk_nets_find(n, "garbage", &m), 0);
		risk_nets_free(n);
	}
	/* overlapping networks: the most severe, then the most specific, wins */
	{
		struct risk_nets *n = risk_nets_new();
		ck_assert_int_eq(
		        risk_nets_add(n, "10.0.0.0/8", DIR_RISK_MEDIUM, "anonymous", "wide", &err),
		        0);
		ck_assert_int_eq(
		        risk_nets_add(n, "10.1.0.0/16", DIR_RISK_HIGH, "malicious", "mid", &err),
		        0);
		ck_assert_int_eq(risk_nets_add(n, "10.1.2.0/24", DIR_RISK_MEDIUM, "anonymous",
		                               "narrow", &err),
		                 0);
		ck_assert_int_eq(
		        risk_nets_add(n, "11.0.0.0/8", DIR_RISK_MEDIUM, "anonymous", "next", &err),
		        0);
		risk_nets_finish(n);
		ck_assert_int_eq(risk_nets_find(n, "10.1.2.3", &m), 1);
		ck_assert_str_eq(m.label, "mid");
		ck_assert_int_eq(risk_nets_find(n, "10.9.9.9", &m), 1);
		ck_assert_str_eq(m.label, "wide");
		ck_assert_int_eq(risk_nets_find(n, "11.255.255.255", &m), 1);
		ck_assert_str_eq(m.label, "next");
		ck_assert_int_eq(risk_nets_find(n, "12.0.0.0", &m), 0);
		risk_nets_free(n);
	}
	snprintf(path, sizeof(path), "%s/bad.txt", F.dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(tu_write_file(path, bad[i].text, 0644), 0);
		ck_assert_ptr_null(risk_nets_load(path, &err));
		ck_assert_msg(strstr(err.msg, bad[i].why) != NULL &&
		                      strstr(err.msg, "bad.txt:") != NULL,
		              "%zu: %s", i, err.msg);
	}
	{
		char line[700];
		memset(line, 'a', sizeof(line) - 2);
		line[sizeof(line) - 2] = '\n';
		line[sizeof(line) - 1] = '\0';
		ck_assert_int_eq(tu_write_file(path, line, 0644), 0);
		ck_assert_ptr_null(risk_nets_load(path, &err));
		ck_assert_msg(strstr(err.msg, "longer than") != NULL, "%s", err.msg);
	}
	snprintf(path, sizeof(path), "%s/missing.txt", F.dir);
	ck_assert_ptr_null(risk_nets_load(path, &err));
	ck_assert_int_eq(err.code, ERR_IO);
	/* the engine refuses to start on a bad list, naming the key */
	snprintf(path, sizeof(path), "%s/bad.txt", F.dir);
	ck_assert_int_eq(tu_write_file(path, "1.2.3.4/99\n", 0644), 0);
	ck_assert_ptr_null(make_engine(NULL, path, &err));
	ck_assert_msg(strstr(err.msg, "[risk] listed_networks") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(forwarded_for)
{
	char ip[64];

	/* an untrusted peer's header is ignored */
	risk_client_ip(F.rk, "192.0.2.1", "6.6.6.6", ip, sizeof(ip));
	ck_assert_str_eq(ip, "192.0.2.1");
	/* a trusted proxy's: the address it saw */
	risk_client_ip(F.rk, "10.1.1.1", "192.0.2.50", ip, sizeof(ip));
	ck_assert_str_eq(ip, "192.0.2.50");
	/* a client's own forged entry sits left of the one the proxy added */
	risk_client_ip(F.rk, "10.1.1.1", "6.6.6.6, 192.0.2.50", ip, sizeof(ip));
	ck_assert_str_eq(ip, "192.0.2.50");
	/* a chain of trusted proxies is walked through */
	risk_client_ip(F.rk, "10.1.1.1", "6.6.6.6,192.0.2.50 , 10.2.2.2,10.3.3.3", ip, sizeof(ip));
	ck_assert_str_eq(ip, "192.0.2.50");
	risk_client_ip(F.rk, "fd00::1", "2001:db8:100::9", ip, sizeof(ip));
	ck_assert_str_eq(ip, "2001:db8:100::9");
	/* garbage stops the walk at the last address known good */
	risk_client_ip(F.rk, "10.1.1.1", "192.0.2.50, <script>", ip, sizeof(ip));
	ck_assert_str_eq(ip, "10.1.1.1");
	risk_client_ip(F.rk, "10.1.1.1", "192.0.2.50:8080", ip, sizeof(ip));
	ck_assert_str_eq(ip, "10.1.1.1");
	risk_client_ip(F.rk, "10.1.1.1", "", ip, sizeof(ip));
	ck_assert_str_eq(ip, "10.1.1.1");
	risk_client_ip(F.rk, "10.1.1.1", ",,,", ip, sizeof(ip));
	ck_assert_str_eq(ip, "10.1.1.1");
	risk_client_ip(F.rk, "10.1.1.1", NULL, ip, sizeof(ip));
	ck_assert_str_eq(ip, "10.1.1.1");
	/* only trusted proxies all the way: the leftmost */
	risk_client_ip(F.rk, "10.1.1.1", "10.2.2.2", ip, sizeof(ip));
	ck_assert_str_eq(ip, "10.2.2.2");
	/* no engine, no proxies */
	risk_client_ip(NULL, "10.1.1.1", "192.0.2.50", ip, sizeof(ip));
	ck_assert_str_eq(ip, "10.1.1.1");
}
END_TEST

START_TEST(user_agents)
{
	char f[64];
	static const struct {
		const char *ua, *want;
	} cases[] = {
	        {UA_FIREFOX, "Firefox/Linux"},
	        {UA_CHROME_WIN, "Chrome/Windows"},
	        {UA_SAFARI_IOS, "Safari/iOS"},
	        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	         "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
	         "Edge/Windows"},
	        {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
	         "Chrome/126.0.0.0 Mobile Safari/537.36",
	         "Chrome/Android"},
	        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like "
	         "Gecko) Version/17.5 Safari/605.1.15",
	         "Safari/macOS"},
	        {"curl/8.5.0", "curl/?"},
	        {"python-requests/2.31", "python/?"},
	        {"", "none"},
	        {NULL, "none"},
	        {"\xff\xfe garbage", "other/?"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		risk_ua_family(cases[i].ua, f, sizeof(f));
		ck_assert_msg(strcmp(f, cases[i].want) == 0, "%zu: %s", i, f);
	}
	/* an update is not a new device */
	risk_ua_family(UA_FIREFOX2, f, sizeof(f));
	ck_assert_str_eq(f, "Firefox/Linux");
	risk_ip_network("81.2.69.10", f, sizeof(f));
	ck_assert_str_eq(f, "81.2.69.0/24");
	risk_ip_network("2001:db8:100:5::1", f, sizeof(f));
	ck_assert_str_eq(f, "2001:db8:100::/48");
	risk_ip_network("::ffff:81.2.69.10", f, sizeof(f));
	ck_assert_str_eq(f, "81.2.69.0/24");
}
END_TEST

/* ---- detections -------------------------------------------------------------- */

START_TEST(brute_force_lockout)
{
	struct outcome o;
	struct dir_lockout l;
	struct err err = {0};
	json_t *ev;

	/* negative: a few typos, then the right password: nothing */
	for (int i = 0; i < 3; i++) {
		o = attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + i, PW_BAD);
		ck_assert_str_eq(o.row.risk, "none");
	}
	o = attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + 10, PW_OK);
	ck_assert_str_eq(o.row.result, "success");
	ck_assert_str_eq(o.row.risk, "none");
	ck_assert_int_eq(dir_lockout_get(F.d, F.t.id, "alice@acme.test", &l, &err), ERR_NOT_FOUND);

	/* negative: nine failures spread wider than the window never lock */
	for (int i = 0; i < 9; i++) {
		o = attempt("ALICE@acme.test", IP_NEWYORK, UA_CHROME_WIN, T0 + 100 + i * 200,
		            PW_BAD);
		ck_assert_str_eq(o.row.risk, "none");
	}
	o = attempt("alice@acme.test", IP_NEWYORK, UA_CHROME_WIN, T0 + 100 + 9 * 200, PW_BAD);
	ck_assert_msg(!has(&o, "brute_force"), "%s", o.row.detections);

	/* ten failures within the window lock the name, whatever its case */
	for (int i = 0; i < 9; i++) {
		o = attempt(i % 2 ? "bob@ACME.test" : "bob@acme.test", IP_NEWYORK, UA_CHROME_WIN,
		            T0 + 5000 + i, PW_BAD);
		ck_assert_msg(!has(&o, "brute_force"), "%d: %s", i, o.row.detections);
	}
	o = attempt("bob@acme.test", IP_NEWYORK, UA_CHROME_WIN, T0 + 5009, PW_BAD);
	ck_assert_msg(has(&o, "brute_force"), "%s", o.row.detections);
	ck_assert_str_eq(o.row.risk, "medium");
	ck_assert_int_eq(o.v.locked_until, T0 + 5009 + 15 * 60);
	ev = evidence(&o, "brute_force");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "failures")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "threshold")), 10);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "lastIp")), IP_NEWYORK);
	json_decref(ev);
	/* locked: even the right password is refused, from anywhere */
	o = attempt("bob@acme.test", IP_LONDON, UA_FIREFOX, T0 + 5100, PW_OK);
	ck_assert_int_eq(o.v.decision, RISK_LOCKED);
	ck_assert_str_eq(o.row.result, "locked");
	ck_assert(has(&o, "brute_force"));
	ck_assert_msg(strstr(o.row.detections, "until") != NULL, "%s", o.row.detections);
	/* visible to admins */
	ck_assert_int_eq(dir_lockout_get(F.d, F.t.id, "Bob@Acme.Test", &l, &err), 0);
	ck_assert_int_eq(l.failures, 10);
	/* after the cooldown the right password works and clears the count */
	o = attempt("bob@acme.test", IP_LONDON, UA_FIREFOX, T0 + 5009 + 15 * 60 + 1, PW_OK);
	ck_assert_str_eq(o.row.result, "success");
	ck_assert_int_eq(dir_lockout_get(F.d, F.t.id, "bob@acme.test", &l, &err), ERR_NOT_FOUND);

	/* a name no user has locks the same way: a lock reveals nothing */
	for (int i = 0; i < 10; i++)
		o = attempt("nobody@acme.test", IP_NEWYORK, UA_CHROME_WIN, T0 + 9000 + i, PW_BAD);
	ck_assert(has(&o, "brute_force"));
	o = attempt("nobody@acme.test", IP_NEWYORK, UA_CHROME_WIN, T0 + 9020, PW_BAD);
	ck_assert_str_eq(o.row.result, "locked");

	/* an admin unlocks, and it is audited */
	for (int i = 0; i < 10; i++)
		o = attempt("carol@acme.test", IP_NEWYORK, UA_CHROME_WIN, T0 + 20000 + i, PW_BAD);
	ck_assert_int_eq(
	        attempt("carol@acme.test", IP_LONDON, UA_FIREFOX, T0 + 20030, PW_OK).v.decision,
	        RISK_LOCKED);
	ck_assert_int_eq(
	        risk_unlock(F.d, F.t.id, "CAROL@acme.test", "admin@acme.test", "192.0.2.9", &err),
	        0);
	o = attempt("carol@acme.test", IP_LONDON, UA_FIREFOX, T0 + 20031, PW_OK);
	ck_assert_str_eq(o.row.result, "success");
	ck_assert_int_eq(risk_unlock(F.d, F.t.id, "carol@acme.test", "admin@acme.test", "", &err),
	                 ERR_NOT_FOUND);
}
END_TEST

static int audit_has(void *ctx, const struct dir_audit *a)
{
	const char **want = ctx;

	if (strcmp(a->action, want[0]) == 0 && strstr(a->summary, want[1]) != NULL)
		want[2] = "found";
	return 0;
}

/* Attempts under way count: the eleventh at once is refused, and each one over frees its place. */
START_TEST(lockout_counts_attempts_under_way)
{
	struct risk_attempt a;
	struct risk_verdict v[12];
	struct err err = {0};

	memset(&a, 0, sizeof(a));
	a.tenant_id = F.t.id;
	a.username = "Carol@acme.test";
	a.ip = IP_NEWYORK;
	a.now = T0;
	for (int i = 0; i < 10; i++) {
		risk_begin(F.rk, &a, &v[i]);
		ck_assert_int_eq(risk_precheck(F.rk, F.d, &a, &v[i], &err), 0);
		ck_assert_int_eq(v[i].decision, RISK_ALLOW);
	}
	/* the same name in another case is the same name */
	a.username = "carol@ACME.TEST";
	risk_begin(F.rk, &a, &v[10]);
	ck_assert_int_eq(risk_precheck(F.rk, F.d, &a, &v[10], &err), 0);
	ck_assert_int_eq(v[10].decision, RISK_LOCKED);
	ck_assert_int_eq(v[10].locked_until, 0); /* refused, not locked */
	ck_assert_int_eq(v[10].n, 1);
	ck_assert_str_eq(v[10].d[0].name, "brute_force");
	risk_done(F.rk, &v[10]); /* nothing claimed: nothing freed */
	/* another name is not held up */
	a.username = "dave@acme.test";
	risk_begin(F.rk, &a, &v[11]);
	ck_assert_int_eq(risk_precheck(F.rk, F.d, &a, &v[11], &err), 0);
	ck_assert_int_eq(v[11].decision, RISK_ALLOW);
	risk_done(F.rk, &v[11]);
	/* one failure recorded and its attempt over: still no room (9 left, 9 under way) */
	a.username = "carol@acme.test";
	ck_assert_int_eq(risk_detect_password_failed(F.rk, F.d, &a, &v[0], &err), 0);
	risk_done(F.rk, &v[0]);
	risk_begin(F.rk, &a, &v[10]);
	ck_assert_int_eq(risk_precheck(F.rk, F.d, &a, &v[10], &err), 0);
	ck_assert_int_eq(v[10].decision, RISK_LOCKED);
	/* one over without a failure (a right password): room for one */
	risk_done(F.rk, &v[1]);
	risk_begin(F.rk, &a, &v[10]);
	ck_assert_int_eq(risk_precheck(F.rk, F.d, &a, &v[10], &err), 0);
	ck_assert_int_eq(v[10].decision, RISK_ALLOW);
	risk_done(F.rk, &v[10]);
	risk_done(F.rk, &v[10]); /* twice is harmless */
	for (int i = 2; i < 10; i++)
		risk_done(F.rk, &v[i]);
	risk_begin(F.rk, &a, &v[10]);
	ck_assert_int_eq(risk_precheck(F.rk, F.d, &a, &v[10], &err), 0);
	ck_assert_int_eq(v[10].decision, RISK_ALLOW);
	risk_done(F.rk, &v[10]);
}
END_TEST

START_TEST(brute_force_then_success)
{
	struct outcome o;

	history("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 - 86400);
	/* the right password after six wrong ones within the window: medium */
	for (int i = 0; i < 6; i++)
		attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + i, PW_BAD);
	enroll(F.alice);
	o = attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + 10, PW_OK);
	ck_assert_msg(has(&o, "brute_force"), "%s", o.row.detections);
	ck_assert_str_eq(o.row.risk, "medium");
	ck_assert_int_eq(o.v.decision, RISK_STEP_UP);
	{
		const char *want[3] = {"risk.dismiss", "dismissed", NULL};
		struct err err = {0};
		ck_assert_int_eq(risk_dismiss(F.d, F.t.id, F.alice, "admin@acme.test", "", "typos",
		                              T0 + 20, &err),
		                 0);
		ck_assert_int_eq(dir_audit_list(F.d, F.t.id, 0, 0, audit_has, want, &err), 0);
		ck_assert_ptr_nonnull(want[2]);
	}
}
END_TEST

START_TEST(password_spray)
{
	struct outcome o;
	char name[64];
	json_t *ev;

	/* negative: an office address whose 30 users sign in, 12 of them after a typo */
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "office%d@acme.test", i);
		{
			char id[DIR_ID_MAX];
			make_user(name, id);
		}
		if (i < 12) {
			o = attempt(name, IP_LONDON2, UA_CHROME_WIN, T0 + i * 60, PW_BAD);
			ck_assert_msg(!has(&o, "password_spray"), "%d: %s", i, o.row.detections);
		}
		o = attempt(name, IP_LONDON2, UA_CHROME_WIN, T0 + i * 60 + 5, PW_OK);
		ck_assert_str_eq(o.row.risk, "none");
	}
	/* negative: nine names from one address is under the threshold */
	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "target%d@acme.test", i);
		o = attempt(name, IP_TOKYO, UA_CHROME_WIN, T0 + 4000 + i, PW_BAD);
		ck_assert_msg(!has(&o, "password_spray"), "%s", o.row.detections);
	}
	/* the tenth distinct name within the hour flags it */
	o = attempt("target9@acme.test", IP_TOKYO, UA_CHROME_WIN, T0 + 4010, PW_BAD);
	ck_assert_msg(has(&o, "password_spray"), "%s", o.row.detections);
	ck_assert_str_eq(o.row.risk, "medium");
	ev = evidence(&o, "password_spray");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "failedNames")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "succeededUsers")), 0);
	json_decref(ev);
	/* the same name again does not count twice */
	o = attempt("target9@acme.test", IP_TOKYO, UA_CHROME_WIN, T0 + 4011, PW_BAD);
	ev = evidence(&o, "password_spray");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "failedNames")), 10);
	json_decref(ev);
	/* a correct password from the spraying address: high, blocked by the default policy */
	o = attempt("carol@acme.test", IP_TOKYO, UA_CHROME_WIN, T0 + 4020, PW_OK);
	ck_assert_msg(has(&o, "password_spray"), "%s", o.row.detections);
	ck_assert_str_eq(o.row.risk, "high");
	ck_assert_int_eq(o.v.decision, RISK_BLOCK);
	ck_assert_str_eq(o.row.result, "blocked");
	/* carol is now a risky user */
	{
		struct dir_risky_user ru;
		struct err err = {0};
		ck_assert_int_eq(dir_risky_user_get(F.d, F.t.id, F.carol, &ru, &err), 0);
		ck_assert_int_eq(ru.level, DIR_RISK_HIGH);
		ck_assert_str_eq(ru.state, "at_risk");
		ck_assert_msg(strstr(ru.detections, "password_spray") != NULL, "%s", ru.detections);
	}
	/* two hours later the address is quiet again */
	o = attempt("target0@acme.test", IP_TOKYO, UA_CHROME_WIN, T0 + 4010 + 7200, PW_BAD);
	ck_assert_msg(!has(&o, "password_spray"), "%s", o.row.detections);
}
END_TEST

START_TEST(impossible_travel)
{
	struct outcome o;
	json_t *ev;

	history("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 - 86400);
	enroll(F.alice);
	/* negative: a short hop (262 km) minutes later */
	o = attempt("alice@acme.test", IP_MANCHESTER, UA_FIREFOX, T0 + 300, PW_OK);
	ck_assert_msg(!has(&o, "impossible_travel"), "%s", o.row.detections);
	/* negative: Paris two hours after Manchester (172 km/h... well under 900) */
	o = attempt("alice@acme.test", IP_PARIS, UA_FIREFOX, T0 + 300 + 7200, PW_OK);
	ck_assert_msg(!has(&o, "impossible_travel"), "%s", o.row.detections);
	/* negative: New York on a flight later (5,840 km in 9 h) */
	o = attempt("alice@acme.test", IP_NEWYORK, UA_FIREFOX, T0 + 300 + 7200 + 9 * 3600, PW_OK);
	ck_assert_msg(!has(&o, "impossible_travel"), "%s", o.row.detections);
	/* Tokyo one hour after New York: 10,850 km in 1 h */
	o = attempt("alice@acme.test", IP_TOKYO, UA_FIREFOX, T0 + 300 + 7200 + 10 * 3600, PW_OK);
	ck_assert_msg(has(&o, "impossible_travel"), "%s %s %s %s", o.row.detections, o.row.result,
	              o.row.country, o.row.risk);
	ev = evidence(&o, "impossible_travel");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "from"), "city")),
	                 "New York");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "to"), "city")),
	                 "Tokyo");
	ck_assert_int_gt(json_integer_value(json_object_get(ev, "speedKmh")), 10000);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "limitKmh")), 900);
	ck_assert(fabs(json_real_value(json_object_get(ev, "hours")) - 1.0) < 0.01);
	json_decref(ev);
	ck_assert_msg(strstr(o.row.detections, "km/h") != NULL, "%s", o.row.detections);
	/* the place is on the row */
	ck_assert_str_eq(o.row.country, "JP");
	ck_assert_str_eq(o.row.city, "Tokyo");
	ck_assert(o.row.has_geo);
	/* a risky sign-in is not a place to compare with later: back home is fine */
	o = attempt("alice@acme.test", IP_NEWYORK, UA_FIREFOX, T0 + 300 + 7200 + 10 * 3600 + 60,
	            PW_OK);
	ck_assert_msg(!has(&o, "impossible_travel"), "%s", o.row.detections);
}
END_TEST

START_TEST(new_country_and_device)
{
	struct outcome o;

	/* learning: a new user's first sign-ins are judged on nothing they did before */
	o = attempt("bob@acme.test", IP_TOKYO, UA_SAFARI_IOS, T0, PW_OK);
	ck_assert_str_eq(o.row.risk, "none");

	history("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 - 86400);
	enroll(F.alice);
	/* one user on two devices: a new browser from a known network is fine */
	o = attempt("alice@acme.test", IP_LONDON2, UA_SAFARI_IOS, T0 + 10, PW_OK);
	ck_assert_str_eq(o.row.risk, "none");
	ck_assert_int_eq(o.v.decision, RISK_ALLOW);
	/* a known browser from a new network (the same city's coffee shop) too */
	o = attempt("alice@acme.test", IP_GB_OTHER, UA_FIREFOX2, T0 + 20, PW_OK);
	ck_assert_str_eq(o.row.risk, "none");
	/* a new country: low, allowed */
	o = attempt("alice@acme.test", IP_PARIS, UA_FIREFOX, T0 + 5 * 3600, PW_OK);
	ck_assert_msg(has(&o, "new_country"), "%s", o.row.detections);
	ck_assert_str_eq(o.row.risk, "low");
	ck_assert_int_eq(o.v.decision, RISK_ALLOW);
	/* ... and learned: the next one from France is not new */
	o = attempt("alice@acme.test", IP_PARIS, UA_FIREFOX, T0 + 6 * 3600, PW_OK);
	ck_assert_str_eq(o.row.risk, "none");
	/* a new browser family from a new network: unfamiliar device, second factor */
	o = attempt("alice@acme.test", IP_MANCHESTER, UA_CHROME_WIN, T0 + 12 * 3600, PW_OK);
	ck_assert_msg(has(&o, "unfamiliar_device"), "%s", o.row.detections);
	ck_assert_str_eq(o.row.risk, "medium");
	ck_assert_int_eq(o.v.decision, RISK_STEP_UP);
	ck_assert_str_eq(o.row.result, "success");
	/* not learned from a stepped-up sign-in ... */
	o = attempt("alice@acme.test", IP_MANCHESTER, UA_CHROME_WIN, T0 + 12 * 3600 + 60, PW_OK);
	ck_assert(has(&o, "unfamiliar_device"));
	/* ... until the second factor is proved from there */
	attempt("alice@acme.test", IP_MANCHESTER, UA_CHROME_WIN, T0 + 12 * 3600 + 90, MFA_OK);
	o = attempt("alice@acme.test", IP_MANCHESTER, UA_CHROME_WIN, T0 + 12 * 3600 + 120, PW_OK);
	ck_assert_str_eq(o.row.risk, "none");
	/* new country and new device together: medium (1 + 2 points) */
	o = attempt("alice@acme.test", IP_BERLIN6, UA_SAFARI_IOS "x", T0 + 30 * 3600, PW_OK);
	ck_assert(has(&o, "new_country"));
	ck_assert_msg(!has(&o, "unfamiliar_device"), "Safari was seen: %s", o.row.detections);
	/* a user without a second factor is blocked where one is required */
	history("bob@acme.test", IP_TOKYO, UA_SAFARI_IOS, T0 + 3600);
	o = attempt("bob@acme.test", "126.0.9.9", UA_CHROME_WIN, T0 + 10 * 3600, PW_OK);
	ck_assert_msg(has(&o, "unfamiliar_device"), "%s", o.row.detections);
	ck_assert_int_eq(o.v.decision, RISK_BLOCK);
	ck_assert_str_eq(o.row.result, "blocked");
	ck_assert_msg(strstr(o.v.why, "none is set up") != NULL, "%s", o.v.why);
}
END_TEST

START_TEST(mfa_fatigue)
{
	struct outcome o;
	struct dir_risky_user ru;
	struct err err = {0};
	json_t *ev;

	enroll(F.alice);
	history("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 - 86400);
	/* negative: a mistyped code or two, then the right one */
	o = attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0, PW_OK);
	for (int i = 0; i < 2; i++) {
		o = attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + 10 + i, MFA_BAD);
		ck_assert_str_eq(o.row.risk, "none");
	}
	attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + 20, MFA_OK);
	ck_assert_int_eq(dir_risky_user_get(F.d, F.t.id, F.alice, &ru, &err), ERR_NOT_FOUND);
	/* negative: failures spread over days */
	o = attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + 86400, MFA_BAD);
	ck_assert_str_eq(o.row.risk, "none");
	/* someone with the password keeps failing the code */
	for (int i = 0; i < 3; i++) {
		attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + 3 * 86400 + i * 100, PW_OK);
		o = attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + 3 * 86400 + i * 100 + 5,
		            MFA_BAD);
		ck_assert_msg(!has(&o, "mfa_fatigue"), "%d: %s", i, o.row.detections);
	}
	o = attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 + 3 * 86400 + 400, MFA_BAD);
	ck_assert_msg(has(&o, "mfa_fatigue"), "%s", o.row.detections);
	ck_assert_str_eq(o.row.risk, "high");
	ev = evidence(&o, "mfa_fatigue");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "failures")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "correctPasswords")), 3);
	json_decref(ev);
	ck_assert_int_eq(dir_risky_user_get(F.d, F.t.id, F.alice, &ru, &err), 0);
	ck_assert_int_eq(ru.level, DIR_RISK_HIGH);
	ck_assert_str_eq(ru.upn, "alice@acme.test");
}
END_TEST

START_TEST(listed_networks_and_policy)
{
	struct outcome o;
	struct err err = {0};
	int mfa_at, block_at;

	history("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 - 86400);
	/* anonymous: medium; without a second factor that is a block */
	o = attempt("alice@acme.test", IP_TOR, UA_FIREFOX, T0, PW_OK);
	ck_assert_msg(has(&o, "listed_network"), "%s", o.row.detections);
	ck_assert_msg(strstr(o.row.detections, "Tor exit relays") != NULL, "%s", o.row.detections);
	ck_assert_int_eq(o.v.decision, RISK_BLOCK);
	enroll(F.alice);
	o = attempt("alice@acme.test", IP_TOR, UA_FIREFOX, T0 + 10, PW_OK);
	ck_assert_int_eq(o.v.decision, RISK_STEP_UP);
	/* malicious: high, blocked */
	o = attempt("alice@acme.test", IP_BOTNET, UA_FIREFOX, T0 + 20, PW_OK);
	ck_assert_str_eq(o.row.risk, "high");
	ck_assert_int_eq(o.v.decision, RISK_BLOCK);
	ck_assert_str_eq(o.row.result, "blocked");
	/* failures from a listed network are flagged too */
	o = attempt("bob@acme.test", IP_BOTNET, UA_FIREFOX, T0 + 30, PW_BAD);
	ck_assert(has(&o, "listed_network"));
	/* the tenant's own policy: never block, second factor from high */
	risk_policy(F.rk, F.d, F.t.id, &mfa_at, &block_at);
	ck_assert_int_eq(mfa_at, DIR_RISK_MEDIUM);
	ck_assert_int_eq(block_at, DIR_RISK_HIGH);
	ck_assert_int_eq(
	        risk_set_policy(F.d, F.t.id, DIR_RISK_HIGH, DIR_RISK_NEVER, "admin", "", T0, &err),
	        0);
	o = attempt("alice@acme.test", IP_BOTNET, UA_FIREFOX, T0 + 40, PW_OK);
	ck_assert_int_eq(o.v.decision, RISK_STEP_UP);
	o = attempt("alice@acme.test", IP_TOR, UA_FIREFOX, T0 + 50, PW_OK);
	ck_assert_int_eq(o.v.decision, RISK_ALLOW);
	ck_assert_str_eq(o.row.risk, "medium");
	/* and back to the configuration's */
	ck_assert_int_eq(risk_set_policy(F.d, F.t.id, -1, -1, "admin", "", T0, &err), 0);
	o = attempt("alice@acme.test", IP_BOTNET, UA_FIREFOX, T0 + 60, PW_OK);
	ck_assert_int_eq(o.v.decision, RISK_BLOCK);
	ck_assert_int_eq(risk_set_policy(F.d, F.t.id, -1, -1, "admin", "", T0, &err),
	                 ERR_NOT_FOUND);
}
END_TEST

START_TEST(confirm_and_dismiss)
{
	struct dir_risky_user ru;
	struct dir_session s;
	struct dir_refresh rt, got;
	struct dir_app app;
	struct err err = {0};
	struct outcome o;
	int grants = -1;

	/* a session, a refresh token */
	memset(&app, 0, sizeof(app));
	snprintf(app.name, sizeof(app.name), "App");
	app.grants = DIR_GRANT_AUTHORIZATION_CODE | DIR_GRANT_REFRESH_TOKEN;
	snprintf(app.redirect_uris[0], sizeof(app.redirect_uris[0]), "https://app.test/cb");
	app.n_redirect_uris = 1;
	ck_assert_msg(dir_app_create(F.d, F.t.id, &app, &err) == 0, "%s", err.msg);
	memset(&s, 0, sizeof(s));
	snprintf(s.id_hash, sizeof(s.id_hash), "%064d", 1);
	snprintf(s.user_id, sizeof(s.user_id), "%s", F.bob);
	s.auth_time = T0;
	s.expires_at = T0 + 3600;
	ck_assert_int_eq(dir_session_create(F.d, F.t.id, &s, &err), 0);
	memset(&rt, 0, sizeof(rt));
	snprintf(rt.token_hash, sizeof(rt.token_hash), "%064d", 2);
	snprintf(rt.grant_id, sizeof(rt.grant_id), "grant-1");
	snprintf(rt.app_id, sizeof(rt.app_id), "%s", app.id);
	snprintf(rt.user_id, sizeof(rt.user_id), "%s", F.bob);
	rt.auth_time = T0;
	rt.created_at = T0;
	rt.expires_at = T0 + 86400;
	ck_assert_int_eq(dir_refresh_create(F.d, F.t.id, &rt, &err), 0);
	/* a step-up mark on the session dies with it */
	o = attempt("bob@acme.test", IP_TOR, UA_FIREFOX, T0, PW_BAD);
	ck_assert_int_eq(risk_mark_session(F.d, F.t.id, s.id_hash, &o.v, T0, &err), 0);
	ck_assert_int_eq(risk_session_needs_mfa(F.d, F.t.id, s.id_hash), 1);
	ck_assert_int_eq(risk_session_needs_mfa(F.d, F.t.id, "ffff"), 0);

	ck_assert_int_eq(risk_confirm(F.d, F.t.id, F.bob, "admin@acme.test", "192.0.2.1", "phished",
	                              T0 + 10, T0 + 100000, &grants, &err),
	                 0);
	ck_assert_int_eq(grants, 1);
	ck_assert_int_eq(dir_session_get(F.d, F.t.id, s.id_hash, &s, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(risk_session_needs_mfa(F.d, F.t.id, s.id_hash), 0);
	ck_assert_int_eq(dir_refresh_get(F.d, F.t.id, rt.token_hash, &got, &err), 0);
	ck_assert_int_ne(got.revoked_at, 0);
	ck_assert_int_eq(dir_token_revoked(F.d, F.t.id, "some-jti", "grant-1", &err), 1);
	ck_assert_int_eq(dir_risky_user_get(F.d, F.t.id, F.bob, &ru, &err), 0);
	ck_assert_str_eq(ru.state, "confirmed");
	ck_assert_int_eq(ru.level, DIR_RISK_HIGH);
	ck_assert_str_eq(ru.updated_by, "admin@acme.test");
	{
		const char *want[3] = {"risk.confirm", "revoked", NULL};
		ck_assert_int_eq(dir_audit_list(F.d, F.t.id, 0, 0, audit_has, want, &err), 0);
		ck_assert_ptr_nonnull(want[2]);
	}
	/* confirmed: the right password from a familiar place is blocked */
	o = attempt("bob@acme.test", IP_LONDON, UA_FIREFOX, T0 + 20, PW_OK);
	ck_assert_int_eq(o.v.decision, RISK_BLOCK);
	ck_assert(has(&o, "confirmed_compromised"));
	ck_assert_str_eq(o.row.result, "blocked");
	/* until an admin resets the password: remediated, audited, let through */
	ck_assert_int_eq(risk_password_reset(F.d, F.t.id, F.bob, "a fresh one", "admin@acme.test",
	                                     "192.0.2.1", T0 + 30, &err),
	                 0);
	ck_assert_int_eq(dir_user_check_password(F.d, F.t.id, F.bob, "a fresh one", &err), 0);
	ck_assert_int_eq(dir_risky_user_get(F.d, F.t.id, F.bob, &ru, &err), 0);
	ck_assert_str_eq(ru.state, "remediated");
	{
		const char *want[3] = {"risk.remediate", "password reset", NULL};
		ck_assert_int_eq(dir_audit_list(F.d, F.t.id, 0, 0, audit_has, want, &err), 0);
		ck_assert_ptr_nonnull(want[2]);
	}
	o = attempt("bob@acme.test", IP_LONDON, UA_FIREFOX, T0 + 40, PW_OK);
	ck_assert_int_ne(o.v.decision, RISK_BLOCK);
	ck_assert(!has(&o, "confirmed_compromised"));
	/* a reset of a user who is not confirmed changes the password only */
	ck_assert_int_eq(risk_password_reset(F.d, F.t.id, F.alice, "x-1", "admin", "", T0, &err), 0);
	ck_assert_int_eq(dir_risky_user_get(F.d, F.t.id, F.alice, &ru, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(risk_password_reset(F.d, F.t.id, "no-such-user", "x-1", "admin", "", T0,
	                                     &err),
	                 ERR_NOT_FOUND);
	/* dismissed, then flagged again by a new detection */
	ck_assert_int_eq(
	        dir_risky_user_raise(F.d, F.t.id, F.carol, DIR_RISK_MEDIUM, "[\"x\"]", 5, T0, &err),
	        0);
	ck_assert_int_eq(risk_dismiss(F.d, F.t.id, F.carol, "admin", "", NULL, T0 + 1, &err), 0);
	ck_assert_int_eq(dir_risky_user_get(F.d, F.t.id, F.carol, &ru, &err), 0);
	ck_assert_str_eq(ru.state, "dismissed");
	ck_assert_int_eq(dir_risky_user_raise(F.d, F.t.id, F.carol, DIR_RISK_LOW, "[\"y\"]", 6,
	                                      T0 + 2, &err),
	                 0);
	ck_assert_int_eq(dir_risky_user_get(F.d, F.t.id, F.carol, &ru, &err), 0);
	ck_assert_str_eq(ru.state, "at_risk");
	ck_assert_int_eq(ru.level, DIR_RISK_LOW);
	/* not flagged: nothing to dismiss */
	ck_assert_int_eq(risk_dismiss(F.d, F.t.id, F.alice, "admin", "", NULL, T0, &err),
	                 ERR_NOT_FOUND);
}
END_TEST

/* A store of schema 7 keeps its risky users through the migration that adds "remediated". */
START_TEST(risky_users_migrate)
{
	struct dir_options o;
	struct dir_tenant t;
	struct dir_user u;
	struct dir_risky_user ru;
	struct err err = {0};
	char path[600];
	struct dir *d;

	snprintf(path, sizeof(path), "%s/v7.db", F.dir);
	memset(&o, 0, sizeof(o));
	o.path = path;
	o.argon2.t_cost = 1;
	o.argon2.m_cost_kib = 64;
	o.argon2.lanes = 1;
	o.target_version = 7;
	d = dir_open(&o, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "old");
	ck_assert_int_eq(dir_tenant_create(d, &t, &err), 0);
	memset(&u, 0, sizeof(u));
	snprintf(u.upn, sizeof(u.upn), "dave@old.test");
	u.enabled = 1;
	ck_assert_int_eq(dir_user_create(d, t.id, &u, NULL, &err), 0);
	ck_assert_int_eq(dir_risky_user_raise(d, t.id, u.id, DIR_RISK_HIGH, "[\"x\"]", 9, T0, &err), 0);
	ck_assert_int_eq(dir_risky_user_set_state(d, t.id, u.id, "confirmed", "admin", T0, &err), 0);
	/* version 7 has no such state */
	ck_assert_int_ne(dir_risky_user_set_state(d, t.id, u.id, "remediated", "admin", T0, &err), 0);
	dir_close(d);
	o.target_version = 0;
	d = dir_open(&o, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	ck_assert_int_eq(dir_schema_version(d), DIR_SCHEMA_VERSION);
	ck_assert_int_eq(dir_risky_user_get(d, t.id, u.id, &ru, &err), 0);
	ck_assert_str_eq(ru.state, "confirmed");
	ck_assert_int_eq(ru.level, DIR_RISK_HIGH);
	ck_assert_int_eq(ru.signin_id, 9);
	ck_assert_int_eq(dir_risky_user_set_state(d, t.id, u.id, "remediated", "admin", T0, &err), 0);
	ck_assert_int_eq(dir_risky_user_set_state(d, t.id, u.id, "fixed", "admin", T0, &err),
	                 ERR_INVALID);
	ck_assert_int_eq(dir_integrity_check(d, &err), 0);
	/* deleting the user still takes the row with it (the foreign key survived) */
	ck_assert_int_eq(dir_user_purge(d, t.id, u.id, &err), 0);
	ck_assert_int_eq(dir_risky_user_get(d, t.id, u.id, &ru, &err), ERR_NOT_FOUND);
	dir_close(d);
}
END_TEST

static int count_row(void *ctx, const struct dir_signin *s)
{
	(void)s;
	(*(int *)ctx)++;
	return 0;
}

START_TEST(retention_and_search)
{
	struct dir_signin_search q;
	struct err err = {0};
	int64_t deleted = 0;
	int n = 0;

	for (int i = 0; i < 30; i++)
		attempt("alice@acme.test", IP_LONDON, UA_FIREFOX, T0 - 100LL * 86400 + i * 86400,
		        i % 3 ? PW_OK : PW_BAD);
	attempt("bob@acme.test", IP_BOTNET, UA_FIREFOX, T0, PW_BAD);
	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	ck_assert_int_eq(dir_signin_search(F.d, F.t.id, &q, count_row, &n, &err), 0);
	ck_assert_int_eq(n, 31);
	n = 0;
	q.min_risk = DIR_RISK_MEDIUM;
	ck_assert_int_eq(dir_signin_search(F.d, F.t.id, &q, count_row, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	n = 0;
	q.min_risk = 0;
	q.user_id = F.alice;
	q.result = "failure";
	ck_assert_int_eq(dir_signin_search(F.d, F.t.id, &q, count_row, &n, &err), 0);
	ck_assert_int_eq(n, 10);
	/* past 90 days the rows go */
	ck_assert_int_eq(risk_housekeeping(F.rk, F.d, T0, &deleted, &err), 0);
	ck_assert_int_eq(deleted, 10);
	n = 0;
	memset(&q, 0, sizeof(q));
	ck_assert_int_eq(dir_signin_search(F.d, F.t.id, &q, count_row, &n, &err), 0);
	ck_assert_int_eq(n, 21);
	/* hostile search bounds are refused */
	q.limit = 5000;
	ck_assert_int_eq(dir_signin_search(F.d, F.t.id, &q, count_row, &n, &err), ERR_INVALID);
}
END_TEST

START_TEST(detections_are_bounded_json)
{
	struct risk_verdict v;
	char out[DIR_DETECTIONS_MAX], big[700];
	json_t *arr;

	memset(&v, 0, sizeof(v));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 12; i++) {
		char ev[720];
		snprintf(ev, sizeof(ev), "{\"blob\":\"%.690s\"}", big);
		risk_add(&v, i % 2 ? "a" : "b", DIR_RISK_LOW, ev, "reason %d \"quoted\" %s", i,
		         "\xe2\x9c\x93");
	}
	ck_assert_int_eq(v.n, 2); /* one of each name */
	for (int i = 0; i < RISK_MAX_DETECTIONS + 3; i++) {
		static const char *names[] = {"n0", "n1", "n2", "n3", "n4", "n5",
		                              "n6", "n7", "n8", "n9", "n10"};
		char ev[720];
		snprintf(ev, sizeof(ev), "{\"blob\":\"%.690s\"}", big);
		risk_add(&v, names[i], DIR_RISK_HIGH, ev, "%s", big);
	}
	ck_assert_int_eq(v.n, RISK_MAX_DETECTIONS);
	ck_assert_int_eq(v.level, DIR_RISK_HIGH);
	ck_assert_int_eq(risk_detections_json(&v, out, sizeof(out)), 0);
	arr = json_loads(out, 0, NULL);
	ck_assert(json_is_array(arr));
	ck_assert_int_eq(json_array_size(arr), RISK_MAX_DETECTIONS);
	json_decref(arr);
	/* levels combine: low 1, medium 2, high 4 points */
	memset(&v, 0, sizeof(v));
	risk_add(&v, "l1", DIR_RISK_LOW, NULL, "x");
	ck_assert_int_eq(v.level, DIR_RISK_LOW);
	risk_add(&v, "l2", DIR_RISK_LOW, NULL, "x");
	ck_assert_int_eq(v.level, DIR_RISK_MEDIUM);
	risk_add(&v, "m1", DIR_RISK_MEDIUM, NULL, "x");
	ck_assert_int_eq(v.level, DIR_RISK_HIGH);
}
END_TEST

START_TEST(engine_without_geo)
{
	struct err err = {0};
	struct risk *plain = make_engine(NULL, NULL, &err);
	struct risk_attempt a;
	struct risk_verdict v;

	ck_assert_ptr_nonnull(plain);
	ck_assert_ptr_null(risk_geo(plain));
	memset(&a, 0, sizeof(a));
	a.tenant_id = F.t.id;
	a.user_id = F.alice;
	a.username = "alice@acme.test";
	a.ip = IP_TOKYO;
	a.now = T0;
	risk_begin(plain, &a, &v);
	ck_assert_int_eq(v.has_place, 0);
	ck_assert_int_eq(risk_assess(plain, F.d, &a, &v, &err), 0);
	ck_assert_int_eq(v.level, DIR_RISK_NONE);
	risk_free(plain);
	/* a bad geo database stops the engine */
	ck_assert_ptr_null(make_engine(F.nets, NULL, &err));
	ck_assert_msg(strstr(err.msg, "[risk] geo_database") != NULL, "%s", err.msg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("risk");
	TCase *tc = tcase_create("engine");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, geo_lookups);
	tcase_add_test(tc, network_list);
	tcase_add_test(tc, forwarded_for);
	tcase_add_test(tc, user_agents);
	tcase_add_test(tc, brute_force_lockout);
	tcase_add_test(tc, lockout_counts_attempts_under_way);
	tcase_add_test(tc, brute_force_then_success);
	tcase_add_test(tc, password_spray);
	tcase_add_test(tc, impossible_travel);
	tcase_add_test(tc, new_country_and_device);
	tcase_add_test(tc, mfa_fatigue);
	tcase_add_test(tc, listed_networks_and_policy);
	tcase_add_test(tc, confirm_and_dismiss);
	tcase_add_test(tc, risky_users_migrate);
	tcase_add_test(tc, retention_and_search);
	tcase_add_test(tc, detections_are_bounded_json);
	tcase_add_test(tc, engine_without_geo);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
