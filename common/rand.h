/*
 * rand: everything random comes from the kernel's CSPRNG (getrandom(2)).
 */
#ifndef IDP_RAND_H
#define IDP_RAND_H

#include <stddef.h>

#define RAND_UUID_LEN 37 /* 36 characters and the NUL */

/* Fill buf with n random bytes; 0, or ERR_INTERNAL if the kernel refused. */
int rand_bytes(void *buf, size_t n) __attribute__((warn_unused_result));

/* Write a random (version 4) UUID in lowercase into out. */
int rand_uuid(char out[RAND_UUID_LEN]) __attribute__((warn_unused_result));

/*
 * Write a time-ordered (version 7, RFC 9562) UUID into out: 48 bits of
 * Unix milliseconds, then 74 random bits.  For object ids: rows made one
 * after another land next to each other in the store's indexes, which
 * makes bulk inserts (a full sync) several times cheaper than random ids.
 * It does say when an object was made, which its createdAt says anyway.
 */
int rand_uuid7(char out[RAND_UUID_LEN]) __attribute__((warn_unused_result));

/*
 * Write nbytes random bytes as unpadded base64url into out (capacity cap,
 * which must hold 4*ceil(nbytes/3)+1).  For opaque tokens and secrets.
 */
int rand_token(char *out, size_t cap, size_t nbytes) __attribute__((warn_unused_result));

#endif
