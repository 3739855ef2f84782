/*
 * risk_detect: the detections themselves.  Each one reads what it needs
 * from the store through one indexed question, and explains itself: a
 * sentence for people and a JSON object with the numbers it compared.
 */
#include "risk_internal.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "15 min", "1 h", "2 h 30 min", "3 d" */
static const char *risk_duration(int64_t s, char *buf, size_t cap)
{
	if (s % 86400 == 0 && s >= 86400)
		snprintf(buf, cap, "%lld d", (long long)(s / 86400));
	else if (s >= 3600 && (s % 3600) / 60 != 0)
		snprintf(buf, cap, "%lld h %lld min", (long long)(s / 3600),
		         (long long)((s % 3600) / 60));
	else if (s >= 3600)
		snprintf(buf, cap, "%lld h", (long long)(s / 3600));
	else if (s >= 60)
		snprintf(buf, cap, "%lld min", (long long)(s / 60));
	else
		snprintf(buf, cap, "%lld s", (long long)s);
	return buf;
}

/* Add a detection whose evidence is ev (stolen). */
static void risk_addj(struct risk_verdict *v, const char *name, int level, json_t *ev,
                      const char *reason)
{
	char *text = ev != NULL ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	risk_add(v, name, level, text, "%s", reason);
	free(text);
	json_decref(ev);
}

/* A place as the evidence shows it. */
static json_t *risk_place_json(int64_t signin_id, int64_t time, const char *ip, const char *country,
                               const char *city, double lat, double lon)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:f, s:f}", "time", (json_int_t)time, "ip", ip,
	                      "country", country, "city", city, "lat", lat, "lon", lon);

	if (o != NULL && signin_id > 0)
		json_object_set_new(o, "signInId", json_integer(signin_id));
	return o;
}

static void risk_place_name(const char *city, const char *country, char *out, size_t cap)
{
	if (city[0] != '\0' && country[0] != '\0')
		snprintf(out, cap, "%s, %s", city, country);
	else if (country[0] != '\0')
		snprintf(out, cap, "%s", country);
	else
		snprintf(out, cap, "an unnamed place");
}

/* The in-flight slot of a name: FNV-1a over the tenant and the case-folded name. */
static uint32_t risk_flight_slot(const char *tenant_id, const char *username)
{
	char folded[DIR_UPN_MAX * 2];
	const char *name = utf8_fold(username, folded, sizeof(folded)) < 0 ? username : folded;
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = tenant_id; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0x100) * 1099511628211ULL; /* between the two: no ambiguous joins */
	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (uint32_t)(h % RISK_FLIGHT_SLOTS);
}

/*
 * The attempt was counted as under way (in slot v->flight - 1, when there
 * were `before` others); keep it so unless the attempts under way would use
 * up the failures the lockout has left: without this, N guesses sent at
 * once would all pass the lock check before the first failure is
 * recorded, N - 1 past the threshold.
 */
static void risk_flight_judge(struct risk *rk, uint32_t before, int failures,
                              struct risk_verdict *v)
{
	int left = rk->cfg.lockout_failures - failures;
	char reason[200];

	if ((int64_t)before < left)
		return;
	risk_done(rk, v);
	v->decision = RISK_LOCKED;
	v->locked_until = 0; /* no lock: the next attempt after these is judged as usual */
	snprintf(reason, sizeof(reason),
	         "%u password attempts for this name were under way with %d failure%s left "
	         "before the lockout",
	         before, left, left == 1 ? "" : "s");
	risk_addj(v, "brute_force", DIR_RISK_MEDIUM,
	          json_pack("{s:i, s:i, s:b}", "inFlight", (int)before, "failuresLeft", left,
	                    "refused", 1),
	          reason);
}

void risk_done(struct risk *rk, struct risk_verdict *v)
{
	if (v->flight == 0)
		return;
	__atomic_fetch_sub(&rk->flight[v->flight - 1], 1, __ATOMIC_ACQ_REL);
	v->flight = 0;
}

int risk_precheck(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                  struct risk_verdict *v, struct err *err)
{
	struct dir_lockout l;
	char until[32], win[24], reason[240];
	uint32_t slot, before;
	int rc, failures = 0;

	if (a->username == NULL || a->username[0] == '\0')
		return 0;
	/*
	 * Counted as under way before the lockout is read.  An attempt that
	 * ends meanwhile records its failure, then leaves: it is seen either
	 * in the row or among those under way.  Read first, one that recorded
	 * and left between the read and the count was seen in neither, and a
	 * guess got past the threshold (the burst test caught it under load).
	 */
	slot = risk_flight_slot(a->tenant_id, a->username);
	before = __atomic_fetch_add(&rk->flight[slot], 1, __ATOMIC_ACQ_REL);
	v->flight = slot + 1;
	rc = dir_lockout_get(d, a->tenant_id, a->username, &l, err);
	if (rc == ERR_INVALID) {
		risk_done(rk, v);
		return 0; /* a name no lock could be kept for */
	}
	if (rc == ERR_NOT_FOUND) {
		err_clear(err); /* never failed */
	} else if (rc != 0) {
		risk_done(rk, v);
		return rc;
	} else if (l.locked_until <= a->now) {
		/* as dir_lockout_fail() counts: a lock that ran out starts afresh */
		int live = l.locked_until == 0 && l.window_start + rk->cfg.lockout_window >= a->now;
		failures = live ? l.failures : 0;
	} else {
		/* locked: not an attempt under way */
		risk_done(rk, v);
		v->decision = RISK_LOCKED;
		v->locked_until = l.locked_until;
		snprintf(reason, sizeof(reason),
		         "the name is locked after %d failed passwords within %s; until %s",
		         l.failures, risk_duration(rk->cfg.lockout_window, win, sizeof(win)),
		         risk_hhmm(l.locked_until, until, sizeof(until)));
		risk_addj(v, "brute_force", DIR_RISK_MEDIUM,
		          json_pack("{s:i, s:I, s:I, s:I, s:s, s:b}", "failures", l.failures,
		                    "windowSeconds", (json_int_t)rk->cfg.lockout_window,
		                    "lockedAt", (json_int_t)l.locked_at, "lockedUntil",
		                    (json_int_t)l.locked_until, "lastIp", l.last_ip, "refused", 1),
		          reason);
		return 0;
	}
	risk_flight_judge(rk, before, failures, v);
	return 0;
}

/* A correct password after many failures for the name within the window. */
static int risk_after_failures(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                               struct risk_verdict *v, struct err *err)
{
	const struct risk_config *c = &rk->cfg;
	int enough = c->lockout_failures / 2 > 2 ? c->lockout_failures / 2 : 2;
	struct dir_lockout l;
	char win[24], reason[240];
	int rc = dir_lockout_get(d, a->tenant_id, a->username, &l, err);

	if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
		return 0;
	if (rc != 0)
		return rc;
	if (l.window_start + c->lockout_window < a->now || l.failures < enough)
		return 0;
	snprintf(reason, sizeof(reason),
	         "the correct password came after %d failed ones within %s (last from %s)",
	         l.failures, risk_duration(c->lockout_window, win, sizeof(win)), l.last_ip);
	risk_addj(v, "brute_force", DIR_RISK_MEDIUM,
	          json_pack("{s:i, s:i, s:I, s:I, s:s}", "failures", l.failures, "threshold",
	                    enough, "windowSeconds", (json_int_t)c->lockout_window, "windowStart",
	                    (json_int_t)l.window_start, "lastIp", l.last_ip),
	          reason);
	return 0;
}

/*
 * Spray: the address failed for many names, and far more than it
 * succeeded (a shared office address whose users mistype now and then
 * succeeds far more often than it fails).
 */
static int risk_spray(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                      const char *this_name, int level, struct risk_verdict *v, struct err *err)
{
	const struct risk_config *c = &rk->cfg;
	int failed = 0, ok = 0, rc;
	char win[24], reason[240];

	if (a->ip == NULL || a->ip[0] == '\0')
		return 0;
	rc = dir_signin_source_stats(d, a->tenant_id, a->ip, a->now - c->spray_window, this_name,
	                             &failed, &ok, err);
	if (rc != 0)
		return rc;
	if (failed < c->spray_names || failed <= 2 * ok)
		return 0;
	if (level == DIR_RISK_HIGH)
		snprintf(reason, sizeof(reason),
		         "a correct password from %s, which failed the password for %d names "
		         "within %s (%d signed in)",
		         a->ip, failed, risk_duration(c->spray_window, win, sizeof(win)), ok);
	else
		snprintf(reason, sizeof(reason),
		         "%s failed the password for %d names within %s (%d signed in)", a->ip,
		         failed, risk_duration(c->spray_window, win, sizeof(win)), ok);
	risk_addj(v, "password_spray", level,
	          json_pack("{s:s, s:i, s:i, s:i, s:I}", "ip", a->ip, "failedNames", failed,
	                    "succeededUsers", ok, "threshold", c->spray_names, "windowSeconds",
	                    (json_int_t)c->spray_window),
	          reason);
	return 0;
}

static int risk_travel(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                       struct risk_verdict *v, struct err *err)
{
	const struct risk_config *c = &rk->cfg;
	struct dir_signin prev;
	char from[96], to[96], reason[240];
	double km, hours, speed;
	int rc;

	if (!v->has_place || !v->place.has_location)
		return 0;
	rc = dir_signin_last_trusted(d, a->tenant_id, a->user_id, a->now + 1, &prev, err);
	if (rc == ERR_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (!prev.has_geo || strcmp(prev.ip, a->ip) == 0)
		return 0;
	km = geo_distance_km(prev.lat, prev.lon, v->place.lat, v->place.lon);
	if (km < c->travel_min_km)
		return 0; /* a short hop: the databases are not that precise */
	hours = (double)(a->now - prev.time > 1 ? a->now - prev.time : 1) / 3600.0;
	speed = km / hours;
	if (speed <= c->travel_kmh)
		return 0;
	risk_place_name(prev.city, prev.country, from, sizeof(from));
	risk_place_name(v->place.city, v->place.country, to, sizeof(to));
	if (hours >= 1)
		snprintf(reason, sizeof(reason),
		         "%s then %s: %.0f km in %.1f h needs %.0f km/h, over %.0f km/h", from, to,
		         km, hours, speed, c->travel_kmh);
	else if (hours * 60 >= 1)
		snprintf(reason, sizeof(reason),
		         "%s then %s: %.0f km in %.0f min needs %.0f km/h, over %.0f km/h", from,
		         to, km, hours * 60, speed, c->travel_kmh);
	else
		snprintf(reason, sizeof(reason),
		         "%s then %s: %.0f km in %.0f s needs %.0f km/h, over %.0f km/h", from, to,
		         km, hours * 3600, speed, c->travel_kmh);
	risk_addj(v, "impossible_travel", DIR_RISK_MEDIUM,
	          json_pack("{s:o, s:o, s:i, s:f, s:i, s:i, s:i}", "from",
	                    risk_place_json(prev.id, prev.time, prev.ip, prev.country, prev.city,
	                                    prev.lat, prev.lon),
	                    "to",
	                    risk_place_json(0, a->now, a->ip, v->place.country, v->place.city,
	                                    v->place.lat, v->place.lon),
	                    "distanceKm", (int)(km + 0.5), "hours", hours, "speedKmh",
	                    (int)(speed + 0.5), "limitKmh", (int)c->travel_kmh, "minDistanceKm",
	                    (int)c->travel_min_km),
	          reason);
	return 0;
}

/* New country and unfamiliar device, once the user's profile has learned enough. */
static int risk_familiar(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                         struct risk_verdict *v, struct err *err)
{
	int64_t learned = 0, seen_country = 1, seen_device = 0, seen_net = 0;
	char reason[240];
	int rc;

	rc = dir_profile_seen(d, a->tenant_id, a->user_id, DIR_PROFILE_SIGNIN, "", &learned, err);
	if (rc != 0 || learned < rk->cfg.learning)
		return rc;
	if (v->has_place && v->place.country[0] != '\0' &&
	    (rc = dir_profile_seen(d, a->tenant_id, a->user_id, DIR_PROFILE_COUNTRY,
	                           v->place.country, &seen_country, err)) != 0)
		return rc;
	if (seen_country == 0) {
		char where[96];
		risk_place_name(v->place.city, v->place.country, where, sizeof(where));
		snprintf(reason, sizeof(reason),
		         "the user's first sign-in from %s (%s); %lld good sign-ins came from "
		         "other countries",
		         v->place.country, where, (long long)learned);
		risk_addj(v, "new_country", DIR_RISK_LOW,
		          json_pack("{s:s, s:s, s:I}", "country", v->place.country, "city",
		                    v->place.city, "goodSignIns", (json_int_t)learned),
		          reason);
	}
	if ((rc = dir_profile_seen(d, a->tenant_id, a->user_id, DIR_PROFILE_DEVICE, v->device,
	                           &seen_device, err)) != 0 ||
	    (rc = dir_profile_seen(d, a->tenant_id, a->user_id, DIR_PROFILE_NETWORK, v->network,
	                           &seen_net, err)) != 0)
		return rc;
	if (seen_device == 0 && seen_net == 0) {
		snprintf(reason, sizeof(reason),
		         "%s was never used by this user, and never from %s", v->device,
		         v->network);
		risk_addj(v, "unfamiliar_device", DIR_RISK_MEDIUM,
		          json_pack("{s:s, s:s, s:I}", "device", v->device, "network", v->network,
		                    "goodSignIns", (json_int_t)learned),
		          reason);
	}
	return 0;
}

/* RISK_BLOCK in v if the user's compromise is confirmed; an error if that cannot be told. */
static int risk_confirmed(struct dir *d, const struct risk_attempt *a, struct risk_verdict *v,
                          struct err *err)
{
	struct dir_risky_user u;
	int rc = dir_risky_user_get(d, a->tenant_id, a->user_id, &u, err);

	if (rc == ERR_NOT_FOUND) {
		err_clear(err);
		return 0;
	}
	if (rc != 0)
		return rc; /* risk_assess() fails closed */
	if (strcmp(u.state, "confirmed") != 0)
		return 0;
	risk_addj(v, "confirmed_compromised", DIR_RISK_HIGH,
	          json_pack("{s:s, s:I}", "confirmedBy", u.updated_by, "confirmedAt",
	                    (json_int_t)u.updated_at),
	          "an administrator confirmed this account compromised; it signs in again after a "
	          "password reset");
	v->decision = RISK_BLOCK;
	snprintf(v->why, sizeof(v->why),
	         "compromise confirmed by an administrator; the password must be reset");
	return 0;
}

int risk_assess(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                struct risk_verdict *v, struct err *err)
{
	int mfa_at, block_at, rc;
	struct dir_totp t;
	struct err e2 = {0};
	char lvl[16];

	if (a->user_id == NULL || a->user_id[0] == '\0')
		return err_set(err, ERR_INVALID, "an assessment needs the user");
	/*
	 * An administrator confirmed the account compromised: its password is
	 * in someone else's hands, so no policy lets it through, not even with
	 * a second factor, until an administrator resets the password
	 * (remediated) or dismisses the finding.
	 */
	rc = risk_confirmed(d, a, v, err);
	if (rc == 0 && v->decision == RISK_BLOCK)
		return 0;
	if (rc == 0)
		rc = risk_after_failures(rk, d, a, v, err);
	if (rc == 0)
		rc = risk_spray(rk, d, a, NULL, DIR_RISK_HIGH, v, err);
	if (rc == 0)
		rc = risk_travel(rk, d, a, v, err);
	if (rc == 0)
		rc = risk_familiar(rk, d, a, v, err);
	risk_policy(rk, d, a->tenant_id, &mfa_at, &block_at);
	v->decision = RISK_ALLOW;
	snprintf(lvl, sizeof(lvl), "%s", dir_risk_level_name(v->level));
	if (rc != 0 && v->level < block_at && mfa_at != DIR_RISK_NEVER) {
		/*
		 * The detections could not all run (the store failed): judge on what
		 * is known, and fail closed: a second factor, as for a risky sign-in.
		 */
		int enrolled =
		        dir_totp_get(d, a->tenant_id, a->user_id, &t, &e2) == 0 && t.confirmed;
		v->decision = enrolled ? RISK_STEP_UP : RISK_BLOCK;
		snprintf(v->why, sizeof(v->why), "the risk of this sign-in could not be assessed");
		return rc;
	}
	if (v->level >= block_at) {
		v->decision = RISK_BLOCK;
		snprintf(v->why, sizeof(v->why), "risk %s reaches the block level (%s)", lvl,
		         dir_risk_level_name(block_at));
	} else if (v->level >= mfa_at) {
		/* a risky sign-in must not be the one that enrolls a second factor */
		int enrolled =
		        dir_totp_get(d, a->tenant_id, a->user_id, &t, &e2) == 0 && t.confirmed;
		v->decision = enrolled ? RISK_STEP_UP : RISK_BLOCK;
		if (!enrolled)
			snprintf(v->why, sizeof(v->why),
			         "risk %s needs a second factor (from %s) and none is set up", lvl,
			         dir_risk_level_name(mfa_at));
	}
	return rc;
}

int risk_detect_password_failed(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                                struct risk_verdict *v, struct err *err)
{
	const struct risk_config *c = &rk->cfg;
	struct dir_lockout_limits lim = {c->lockout_failures, c->lockout_window,
	                                 c->lockout_duration};
	struct dir_lockout l;
	char until[32], win[24], reason[240];
	int locked_now = 0, rc;

	if (a->username != NULL && a->username[0] != '\0') {
		rc = dir_lockout_fail(d, a->tenant_id, a->username, a->ip != NULL ? a->ip : "",
		                      a->now, &lim, &l, &locked_now, err);
		if (rc == ERR_INVALID)
			rc = 0; /* a name no counter can be kept for: nothing to lock */
		else if (rc != 0)
			return rc;
		if (locked_now) {
			v->locked_until = l.locked_until;
			snprintf(reason, sizeof(reason),
			         "%d failed passwords for this name within %s: locked until %s",
			         l.failures, risk_duration(c->lockout_window, win, sizeof(win)),
			         risk_hhmm(l.locked_until, until, sizeof(until)));
			risk_addj(v, "brute_force", DIR_RISK_MEDIUM,
			          json_pack("{s:i, s:i, s:I, s:I, s:I, s:s}", "failures",
			                    l.failures, "threshold", c->lockout_failures,
			                    "windowSeconds", (json_int_t)c->lockout_window,
			                    "windowStart", (json_int_t)l.window_start,
			                    "lockedUntil", (json_int_t)l.locked_until, "lastIp",
			                    l.last_ip),
			          reason);
		}
	}
	return risk_spray(rk, d, a, a->username != NULL && a->username[0] ? a->username : NULL,
	                  DIR_RISK_MEDIUM, v, err);
}

int risk_detect_mfa_failed(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                           struct risk_verdict *v, struct err *err)
{
	const struct risk_config *c = &rk->cfg;
	int failed = 0, passwords = 0, rc;
	char win[24], reason[240];

	rc = dir_signin_count(d, a->tenant_id, a->user_id, "mfa recovery", NULL,
	                      a->now - c->mfa_window, &failed, err);
	if (rc == 0)
		rc = dir_signin_count(d, a->tenant_id, a->user_id, "password", "success",
		                      a->now - c->mfa_window, &passwords, err);
	if (rc != 0)
		return rc;
	failed++; /* this one */
	if (failed < c->mfa_failures)
		return 0;
	snprintf(reason, sizeof(reason),
	         "%d wrong second-factor codes within %s, after the correct password (%d "
	         "correct passwords): someone else may know it",
	         failed, risk_duration(c->mfa_window, win, sizeof(win)), passwords);
	risk_addj(v, "mfa_fatigue", DIR_RISK_HIGH,
	          json_pack("{s:i, s:i, s:i, s:I}", "failures", failed, "correctPasswords",
	                    passwords, "threshold", c->mfa_failures, "windowSeconds",
	                    (json_int_t)c->mfa_window),
	          reason);
	return 0;
}
