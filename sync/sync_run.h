/*
 * sync_run: the sync engine.  It keeps one tenant of the cloud directory
 * equal to what the configured LDAP searches return, in cycles:
 *
 *  full     paged searches (RFC 2696) under every base, each object created,
 *           updated or restored by its anchor and marked seen; once every
 *           search completed, the synced objects left unmarked are
 *           soft-deleted (the first full sync of a tenant without synced
 *           objects has nothing to sweep, so it marks nothing and inserts
 *           without looking first).  Pages are parsed on a reader thread
 *           while the previous page is applied.  Before reading, an empty
 *           Content Sync search
 *           fetches the cookie of "now", stored when the cycle ends, so the
 *           next delta replays whatever changed during the read.
 *  delta    RFC 4533 with the stored cookie: refreshOnly (mode poll, --once)
 *           or refreshAndPersist (mode persist), handling adds, modifies,
 *           renames and moves (same anchor: same cloud object), deletes,
 *           the present and delete phases and syncIdSet messages.  Deletes
 *           and present-phase sweeps are applied only when every search
 *           finished its refresh.
 *  persist  what refreshAndPersist delivers afterwards, applied as it comes,
 *           in batches of one transaction that also store the new cookie;
 *           one cycle record per cycle_window.
 *
 * Rules that hold everywhere: one transaction per batch (changes, counts and
 * cookie together, so a crash replays, never loses or doubles); a read that
 * did not complete deletes nothing; more deletes in one cycle than
 * delete_threshold stop the cycle (recorded, logged) until it is run with
 * the confirmation; the server going away means reconnect with backoff and
 * resume from the stored cookie; SIGTERM ends the run after the current
 * batch.  Only objects of the configured tenant with source "ldap" are
 * written.
 *
 * Errors: an entry that cannot be mapped or that the store refuses as a
 * value is counted and skipped (the rest syncs; it comes again when it
 * changes).  An entry refused because another object holds its name is
 * also listed with the cookies and read again at the end of every full
 * sync and refresh, and every minute while persisting, until it applies:
 * nothing about it may change when the other object lets go.  Any other
 * store failure fails the batch and the cycle, to be retried.
 */
#ifndef IDP_SYNC_RUN_H
#define IDP_SYNC_RUN_H

#include <signal.h>

struct err;
struct sync_config;

struct sync_run_opts {
	int once;            /* one cycle (full if needed, else refreshOnly), then return */
	int force_full;      /* start with a full sync whatever the cookie */
	int confirm_deletes; /* the first cycle over the delete threshold proceeds */
	volatile sig_atomic_t *stop; /* set by a signal handler: stop after the batch */
};

enum sync_run_result {
	SYNC_RUN_OK = 0,        /* --once: the cycle completed; else: stopped by signal */
	SYNC_RUN_FAILED = 1,    /* see err */
	SYNC_RUN_THRESHOLD = 3  /* --once: the cycle stopped at the delete threshold */
};

/*
 * Run the sync of cfg until done (once) or stopped.  Logs as it goes.
 * Returns an enum sync_run_result; on SYNC_RUN_FAILED err says why.
 */
int sync_run(const struct sync_config *cfg, const struct sync_run_opts *o, struct err *err);

/* Print the connector's state and last n cycles to stdout (idp-sync --status). */
int sync_status(const struct sync_config *cfg, int n, struct err *err);

#endif
