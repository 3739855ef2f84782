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

#endif
