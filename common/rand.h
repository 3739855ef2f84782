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
 * Random bytes drawn from the kernel a few hundred at a time, for callers
 * that make many ids in a row (a full sync makes one per object: one
 * getrandom(2) each was measured at 2% of a sync's writer thread).  Only
 * for values that are not secrets: the unused bytes wait in the pool.
 * Zero it to start; rand_pool_wipe() when done.  Not thread-safe: one pool
 * per thread or per handle; and a process that forks must not use one
 * filled before the fork on both sides (both would hand out the same bits).
 */
struct rand_pool {
	unsigned char buf[480];
	size_t used; /* bytes of buf already handed out; 0 on a zeroed pool means empty */
	int filled;
};

/* rand_uuid7(), its random bits taken from pool p. */
int rand_uuid7_pool(struct rand_pool *p, char out[RAND_UUID_LEN])
	__attribute__((warn_unused_result));

/* Forget the pool's unused bytes. */
void rand_pool_wipe(struct rand_pool *p);

/*
 * Write nbytes random bytes as unpadded base64url into out (capacity cap,
 * which must hold 4*ceil(nbytes/3)+1).  For opaque tokens and secrets.
 */
int rand_token(char *out, size_t cap, size_t nbytes) __attribute__((warn_unused_result));

#endif
