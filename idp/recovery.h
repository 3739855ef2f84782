/*
 * recovery: single-use recovery codes, the way back in for a user who lost
 * the authenticator.
 *
 * Ten codes are made at enrollment and shown once.  Each is 80 random bits
 * written as 16 characters of Crockford's base32 in four groups
 * ("7k2m-q9xd-4hwe-t0bn"); what a user types back is forgiving (any case,
 * with or without the dashes and spaces, i/l for 1 and o for 0).
 *
 * Only a digest is stored: SHA-256 over the code and the tenant and user it
 * belongs to.  A fast hash is enough here, unlike for passwords: with 80
 * random bits per code, trying every code against a stolen digest takes
 * 2^79 hashes on average, out of reach at any hashing speed, and binding
 * the tenant and user makes every digest unique, so nothing is gained by
 * precomputing or by moving rows between users.  Checking a code compares
 * its digest with each of the user's unused ones in constant time, and
 * using it is one atomic "mark used where still unused", so a code works
 * once even when two nodes are handed it at the same moment.
 */
#ifndef IDP_RECOVERY_H
#define IDP_RECOVERY_H

#include "dir.h"

#include <stdint.h>

#define RECOVERY_CODES    10 /* codes per set */
#define RECOVERY_CODE_MAX 20 /* "xxxx-xxxx-xxxx-xxxx" and the NUL */
#define RECOVERY_CHARS    16 /* significant characters of a code */

/*
 * Make n (<= DIR_RECOVERY_MAX) fresh codes for the user into codes, as they
 * are shown, and their digests into hashes.  The caller wipes codes once
 * they have been shown.
 */
int recovery_generate(const char *tenant_id, const char *user_id, int n,
                      char (*codes)[RECOVERY_CODE_MAX], char (*hashes)[DIR_HASH_MAX],
                      struct err *err);

/*
 * What the user typed, normalised to the 16 characters of a code, into out:
 * 0, or ERR_INVALID if it cannot be a code.
 */
int recovery_normalize(const char *typed, char out[RECOVERY_CHARS + 1]);

/* The stored digest of a normalised code of this tenant's user. */
void recovery_hash(const char *tenant_id, const char *user_id, const char *normalized,
                   char out[DIR_HASH_MAX]);

/*
 * Use the typed code for the user at now: 0 if this call used it (it never
 * works again); ERR_DENIED if it is not one of the user's unused codes (or
 * is not a code at all).  *remaining (may be NULL) gets the number of unused
 * codes left.
 */
int recovery_use(struct dir *d, const char *tenant_id, const char *user_id, const char *typed,
                 int64_t now, int *remaining, struct err *err) __attribute__((warn_unused_result));

#endif
