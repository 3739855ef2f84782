/*
 * rekey: the store-wide side of the secret key file: checking at start-up
 * that the key file opens what the store holds, re-sealing every secret
 * under the active key after a rotation, and telling which retired keys
 * are still needed.
 *
 * It covers every sealed column of the store (dir_sealed_each()): TOTP
 * secrets, sealed with context secretbox_context("totp", tenant, user id),
 * and private signing keys, sealed with secretbox_context("signing_key",
 * tenant, kid).  Whoever seals those columns must use those contexts.
 */
#ifndef IDP_REKEY_H
#define IDP_REKEY_H

#include "dir.h"
#include "secretbox.h"

struct rekey_stats {
	int sealed;   /* sealed values in the store */
	int active;   /* of which under the active key (after a reseal: all) */
	int resealed; /* re-sealed by rekey_reseal() */
	int kids;     /* distinct key ids in use */
};

/* The context a sealed value of the store was sealed with, into out. */
int rekey_context(const struct dir_sealed *s, char *out, size_t cap);

/*
 * Check that sb opens the store d: every sealed value names a key of sb,
 * and (with full) every value opens, or (without) one value per key id
 * does: enough to catch a wrong key file at start-up in one pass of reads.
 * 0; ERR_NOT_FOUND naming a key id the file lacks; ERR_DENIED when a key
 * does not open what was sealed under its id (a wrong key file); other
 * codes if the store failed.  st (may be NULL) gets the counts.
 */
int rekey_check(const struct secretbox *sb, struct dir *d, int full, struct rekey_stats *st,
                struct err *err);

/*
 * Re-seal every value not under sb's active key with the active key, in
 * one transaction: all or nothing.  Values change under their rows only if
 * nobody changed them meanwhile.  st (may be NULL) gets the counts.
 */
int rekey_reseal(const struct secretbox *sb, struct dir *d, struct rekey_stats *st,
                 struct err *err);

/* 1 if some sealed value of the store names key id kid (0 if none, or negative on error). */
int rekey_kid_in_use(struct dir *d, const char *kid, struct err *err);

#endif
