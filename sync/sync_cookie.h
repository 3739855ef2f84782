/*
 * sync_cookie: the text the store keeps for a connector (sync_state.cookie):
 * the RFC 4533 cookie of every search of the configuration, and the digest
 * of the scope they were made under.
 *
 *     idp-sync-cookie 1 SCOPE-DIGEST
 *     <base64url of search 0's cookie, or "-">
 *     <base64url of search 1's cookie, or "-">
 *     ...
 *
 * A text made under another scope (bases, filters, mapping, server) or for
 * another number of searches does not decode: the next cycle is then a
 * full sync, never a delta applied to the wrong scope.
 *
 * After the cookies come the entries the sync must read again (sync_run.c:
 * entries a cycle could not apply because of another object), one line
 * each, KIND 0 for a user and 1 for a group, ANCHOR an entryUUID:
 *
 *     r KIND ANCHOR
 *
 * They are stored with the cookies because they go together: a cookie
 * that passed an entry without applying it is only safe with the entry
 * still listed.  Then the entries whose entryUUID could not be read (an
 * ACL), by DN since they have no anchor, one line each, the DN's bytes in
 * lowercase hex:
 *
 *     d KIND HEXDN
 */
#ifndef IDP_SYNC_COOKIE_H
#define IDP_SYNC_COOKIE_H

#include <lber.h>
#include <stddef.h>

/* Encode the n cookies (empty ones as "-"); NULL when out of memory. Caller frees. */
char *sync_cookie_encode(const char *scope, struct berval *const *cookies, size_t n);

/*
 * Decode text into the n cookies (each freed and replaced with a malloc'd
 * copy, empty for "-").  0 if text fits scope and n, else -1 (the cookies
 * may then hold part of it: clear them).
 */
int sync_cookie_decode(const char *text, const char *scope, struct berval **cookies, size_t n);

/*
 * Append the line "r kind anchor" to *text (realloc'd; caller frees).
 * -1 when out of memory, or when kind is not 0 or 1 or anchor is not made
 * of hex digits and '-' (it goes into an LDAP filter when read back).
 */
int sync_cookie_retry_add(char **text, int kind, const char *anchor);

/*
 * The "r" lines of a text that decodes, in turn: *pos is NULL at first.
 * 1 with *kind and anchor (cap bytes) set, 0 when there are no more.
 */
int sync_cookie_retry_next(const char *text, const char **pos, int *kind, char *anchor,
			   size_t cap);

/*
 * Append the line "d kind HEXDN" to *text (after any "r" lines).  -1 when
 * out of memory, or when kind is not 0 or 1 or dn is empty or longer than
 * 1024 bytes.
 */
int sync_cookie_unread_add(char **text, int kind, const char *dn);

/* The "d" lines in turn, as sync_cookie_retry_next() does the "r" lines. */
int sync_cookie_unread_next(const char *text, const char **pos, int *kind, char *dn, size_t cap);

#endif
