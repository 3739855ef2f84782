/*
 * risk: the sign-in risk engine.  It runs in the sign-in path, on every
 * attempt, and explains itself: each detection it makes has a name, a
 * level, a reason in words and the evidence behind it, and all of them go
 * into the attempt's row of the sign-in log.
 *
 * Detections (thresholds in the [risk] section of the config):
 *
 *   brute_force        many failed passwords for one name within a window:
 *                      the name is locked for a cooldown (any name, known
 *                      or not, so a lock reveals nothing); also a correct
 *                      password after many failures
 *   password_spray     one address failing for many names within a window
 *                      (and failing far more than it succeeds); a success
 *                      from such an address is high risk
 *   impossible_travel  the user's last good sign-in was too far away for
 *                      the time since (speed over a limit), short hops ignored
 *   new_country        a country the user never signed in from
 *   unfamiliar_device  a browser family the user never used, from a network
 *                      (/24, /48) the user never came from
 *   mfa_fatigue        second-factor failures piling up after correct
 *                      passwords
 *   listed_network     an address on the admin's list of anonymous or
 *                      malicious networks (a CIDR file)
 *
 * The familiar countries, devices and networks are learned from good
 * sign-ins (and from a second factor proved after a risky one); a user
 * with fewer than `learning` good sign-ins is not judged on them yet.
 *
 * A sign-in's level combines its detections: low counts 1, medium 2,
 * high 4; 4 or more is high, 2 or 3 medium, 1 low.  The tenant's policy
 * then decides: at or above mfa_at a second factor is required even where
 * the app would not ask (a user without one is blocked: a risky sign-in
 * must not be the one to enroll one); at or above block_at the sign-in is
 * refused.  Users whose correct password came with a medium or high
 * sign-in, and users under MFA fatigue, are flagged risky until an admin
 * dismisses them or confirms the compromise (risk_admin.c).
 *
 * The engine keeps no state of its own between attempts: everything is in
 * the store (dir.h "sign-in log (reports)"), so several idp nodes sharing
 * one store see the same counters and lockouts.  Time is the attempt's
 * `now`, never the clock, so tests replay sequences with any timing.
 */
#ifndef IDP_RISK_H
#define IDP_RISK_H

#include "dir.h"
#include "geo.h"

#include <stddef.h>
#include <stdint.h>

struct idp_config;
struct risk;
struct risk_nets;

struct risk_config {
	const char *geo_database;           /* GeoLite2-City-format file, or NULL */
	const char *listed_networks;        /* CIDR file, or NULL */
	const char *const *trusted_proxies; /* CIDRs whose X-Forwarded-For is believed */
	size_t n_trusted_proxies;
	int64_t retention;        /* seconds a sign-in row is kept */
	int lockout_failures;     /* brute force: failures ... */
	int64_t lockout_window;   /* ... within this many seconds ... */
	int64_t lockout_duration; /* ... lock the name this long */
	int spray_names;          /* spray: names failed from one address ... */
	int64_t spray_window;     /* ... within this many seconds */
	double travel_kmh;        /* impossible travel: speed limit */
	double travel_min_km;     /* ... distances below this are short hops */
	int learning;             /* good sign-ins before new country/device count */
	int mfa_failures;         /* MFA fatigue: failures ... */
	int64_t mfa_window;       /* ... within this many seconds */
	int mfa_at;               /* default policy: DIR_RISK_LOW..HIGH or NEVER */
	int block_at;
	int user_at; /* flag the user risky from this level */
};

/* The defaults every field above has (no geo database, no list, no proxies). */
void risk_config_defaults(struct risk_config *c);

/*
 * The engine's settings from the idp's config; the strings stay borrowed
 * from cfg.
 */
void risk_config_from(const struct idp_config *cfg, struct risk_config *out);

/*
 * Make the engine: opens the geo database and loads the network list when
 * configured (errors name the file and line), parses the trusted proxies.
 * Free with risk_free().
 */
struct risk *risk_new(const struct risk_config *cfg, struct err *err);
void risk_free(struct risk *rk);

/* The settings in force (borrowed). */
const struct risk_config *risk_config(const struct risk *rk);

/* The geo database, or NULL when none is configured. */
const struct geo *risk_geo(const struct risk *rk);

/*
 * The client's address for a request that came from peer: the peer itself,
 * unless the peer is a trusted proxy; then the X-Forwarded-For list (xff,
 * may be NULL) is walked from the right, past every trusted proxy, to the
 * first address that is not one.  A malformed entry stops the walk at the
 * last address known good.  Writes a numeric address into out.
 */
void risk_client_ip(const struct risk *rk, const char *peer, const char *xff, char *out,
                    size_t cap);

enum risk_decision {
	RISK_ALLOW = 0,
	RISK_STEP_UP = 1, /* a second factor is required for this sign-in */
	RISK_BLOCK = 2,   /* refused by policy */
	RISK_LOCKED = 3   /* the name is locked (brute force) */
};

#define RISK_MAX_DETECTIONS 8

struct risk_detection {
	const char *name;   /* static: "brute_force", ... */
	int level;          /* DIR_RISK_LOW..HIGH */
	char reason[240];   /* one sentence, for people */
	char evidence[720]; /* a JSON object, compact */
};

/* What is known about one attempt. */
struct risk_attempt {
	const char *tenant_id;
	const char *user_id;    /* NULL or "" when the name matched no user */
	const char *username;   /* the name as typed, or the UPN */
	const char *app_id;     /* NULL or "" without an app */
	const char *ip;         /* the client address (risk_client_ip) */
	const char *user_agent; /* may be NULL */
	int64_t now;
};

/* The engine's judgement of one attempt. */
struct risk_verdict {
	int level; /* DIR_RISK_NONE..HIGH, combined */
	int n;
	struct risk_detection d[RISK_MAX_DETECTIONS];
	enum risk_decision decision;
	int64_t locked_until;   /* with RISK_LOCKED, or a lock this attempt started */
	char why[160];          /* with RISK_BLOCK: which rule refused, for the log */
	struct geo_place place; /* where the address is */
	int has_place;
	char device[64];  /* browser family, e.g. "Firefox/Linux" */
	char network[64]; /* the address's /24 or /48 */
	uint32_t flight;  /* 1 + the in-flight slot risk_precheck() claimed; 0 = none */
};

/* What an attempt was, for risk_record(). */
enum risk_event {
	RISK_EV_OTHER = 0,       /* SSO reuse, tokens, enrollment: place and lists only */
	RISK_EV_LOCKED,          /* refused by risk_precheck() */
	RISK_EV_PASSWORD_FAILED, /* a wrong password or unknown name */
	RISK_EV_PASSWORD_OK,     /* a correct password (allowed, stepped up or blocked) */
	RISK_EV_MFA_FAILED,      /* a wrong second factor after a correct password */
	RISK_EV_MFA_OK           /* a second factor proved */
};

/*
 * Start a verdict for a: where the address is, the device family and
 * network, and whether the address is on the network list.
 */
void risk_begin(struct risk *rk, const struct risk_attempt *a, struct risk_verdict *v);

/*
 * Before the password is checked: is the name locked?  Fills v (after
 * risk_begin) and sets v->decision to RISK_LOCKED with a brute_force
 * detection when it is.  0, or a negative err code (store trouble: the
 * caller goes on as if unlocked and logs the error).
 *
 * An attempt let through is counted as under way until risk_done(v):
 * attempts at once for one name are refused (RISK_LOCKED) beyond the
 * failures the lockout has left, so that concurrent guesses cannot each
 * pass the check before any failure is recorded.  The caller calls
 * risk_done() after recording the outcome, on every path.
 */
int risk_precheck(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                  struct risk_verdict *v, struct err *err);

/* The attempt risk_precheck() let through is over (its outcome recorded). */
void risk_done(struct risk *rk, struct risk_verdict *v);

/*
 * After a correct password: every detection, the level, and the tenant
 * policy's decision (allow, step up or block).  Read-only.
 */
int risk_assess(struct risk *rk, struct dir *d, const struct risk_attempt *a,
                struct risk_verdict *v, struct err *err);

/*
 * Fill what the engine knows of an attempt into its log row: time,
 * address, agent, place, risk level and detections.  risk_record() does
 * this itself; for rows written elsewhere (signin_queue.h).
 */
void risk_row_fill(const struct risk_attempt *a, const struct risk_verdict *v,
                   struct dir_signin *row);

/*
 * Write the attempt's row (step, result, reason, factors filled by the
 * caller; time, ip, agent, place, risk and detections filled here) and
 * what follows from it, in one transaction: for a failed password the
 * brute-force count (and the lock it may start: v->locked_until) and the
 * spray check; for a failed second factor the fatigue check; for a good
 * sign-in the familiar properties learned and the failure count cleared;
 * and a risky user flagged when the level calls for it.  row->id is set.
 */
int risk_record(struct risk *rk, struct dir *d, const struct risk_attempt *a, enum risk_event ev,
                struct dir_signin *row, struct risk_verdict *v, struct err *err);

/* Mark the session started by a sign-in that needs a second factor (RISK_STEP_UP). */
int risk_mark_session(struct dir *d, const char *tenant_id, const char *session_hash,
                      const struct risk_verdict *v, int64_t now, struct err *err);

/* 1 if the session was started by a sign-in that needs a second factor. */
int risk_session_needs_mfa(struct dir *d, const char *tenant_id, const char *session_hash);

/* The tenant's policy thresholds: its own, else the config's. */
void risk_policy(struct risk *rk, struct dir *d, const char *tenant_id, int *mfa_at, int *block_at);

/* A time as "2026-11-24 14:05 UTC" into buf (returned). */
const char *risk_hhmm(int64_t t, char *buf, size_t cap);

/* The detections of v as the JSON array the log stores, into out (cap); 0 or -1. */
int risk_detections_json(const struct risk_verdict *v, char *out, size_t cap);

/*
 * Housekeeping (all tenants): sign-in rows past the retention, expired
 * lockout counters, familiar properties not seen within the retention.
 * Deletes in batches; *deleted counts the sign-in rows.
 */
int risk_housekeeping(struct risk *rk, struct dir *d, int64_t now, int64_t *deleted,
                      struct err *err);

/* ---- admin actions (risk_admin.c): each audited under `actor` ---------- */

/* Lift the lock and forget the failures of a name. */
int risk_unlock(struct dir *d, const char *tenant_id, const char *username, const char *actor,
                const char *ip, struct err *err);

/* A flagged user was a false alarm. */
int risk_dismiss(struct dir *d, const char *tenant_id, const char *user_id, const char *actor,
                 const char *ip, const char *note, int64_t now, struct err *err);

/*
 * The user is compromised: flagged high and confirmed, and every session
 * and refresh token revoked (access tokens of their grants too, through
 * revocation records kept until revoke_until).  *grants gets how many.
 */
int risk_confirm(struct dir *d, const char *tenant_id, const char *user_id, const char *actor,
                 const char *ip, const char *note, int64_t now, int64_t revoke_until, int *grants,
                 struct err *err);

/*
 * An administrator sets the user's password (NULL clears it).  A user whose
 * compromise was confirmed is then "remediated" and may sign in again;
 * until then risk_assess() blocks every password sign-in of theirs.  One
 * transaction: the new password and the lifted block go together.
 */
int risk_password_reset(struct dir *d, const char *tenant_id, const char *user_id,
                        const char *password, const char *actor, const char *ip, int64_t now,
                        struct err *err);

/* Set (or with both levels -1, drop) the tenant's own policy. */
int risk_set_policy(struct dir *d, const char *tenant_id, int mfa_at, int block_at,
                    const char *actor, const char *ip, int64_t now, struct err *err);

/* ---- the pieces (risk_net.c, risk_ua.c), public for tests ------------- */

/*
 * A set of networks, each with a category (DIR_RISK_MEDIUM for anonymous,
 * DIR_RISK_HIGH for malicious) and a label.
 */
struct risk_net_match {
	char cidr[64];
	int level;
	char category[16]; /* "anonymous" or "malicious" */
	char label[65];
};

/*
 * Load a CIDR file: one network per line, "ADDRESS[/LEN] [CATEGORY
 * [LABEL...]]", CATEGORY anonymous (the default) or malicious, '#'
 * comments, blank lines.  Host bits set, a bad address, prefix length or
 * category, an over-long line or label stop it with FILE:LINE and why.
 */
struct risk_nets *risk_nets_load(const char *path, struct err *err);

/* Parse one network ("ADDRESS" or "ADDRESS/LEN"); for tests and the proxy list. */
struct risk_nets *risk_nets_new(void);
int risk_nets_add(struct risk_nets *n, const char *cidr, int level, const char *category,
                  const char *label, struct err *err);
/* After the last add, before any lookup. */
void risk_nets_finish(struct risk_nets *n);
void risk_nets_free(struct risk_nets *n);
size_t risk_nets_count(const struct risk_nets *n);

/* The most severe (then most specific) network containing ip; 1 found, 0 not. */
int risk_nets_find(const struct risk_nets *n, const char *ip, struct risk_net_match *out);

/* The address's network for familiarity: a.b.c.0/24, or the /48 of an IPv6 address. */
void risk_ip_network(const char *ip, char *out, size_t cap);

/* "Browser/OS" from a User-Agent, ignoring versions: "Chrome/Windows", "curl/?", "none". */
void risk_ua_family(const char *ua, char *out, size_t cap);

#endif
