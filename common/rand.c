/*
 * rand: getrandom(2) wrappers.
 */
#include "rand.h"

#include "b64.h"
#include "err.h"
#include "secret.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

int rand_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return ERR_INTERNAL;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int rand_uuid(char out[RAND_UUID_LEN])
{
	unsigned char b[16];

	if (rand_bytes(b, sizeof(b)) != 0)
		return ERR_INTERNAL;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, RAND_UUID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

/* The 16 bytes of a UUID as 8-4-4-4-12 lowercase hex (snprintf is measurably slower). */
static void rand_uuid_format(const unsigned char b[16], char out[RAND_UUID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[b[i] >> 4];
		*o++ = hex[b[i] & 15];
	}
	*o = '\0';
}

/* Version 7 from 10 random bytes: 48 bits of milliseconds, version, variant. */
static void rand_uuid7_make(const unsigned char rnd[10], char out[RAND_UUID_LEN])
{
	unsigned char b[16];
	struct timespec ts;
	uint64_t ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	memcpy(b + 6, rnd, 10);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x70); /* version 7 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
	rand_uuid_format(b, out);
}

int rand_uuid7(char out[RAND_UUID_LEN])
{
	unsigned char r[10];

	if (rand_bytes(r, sizeof(r)) != 0)
		return ERR_INTERNAL;
	rand_uuid7_make(r, out);
	return 0;
}

int rand_uuid7_pool(struct rand_pool *p, char out[RAND_UUID_LEN])
{
	if (!p->filled || p->used + 10 > sizeof(p->buf)) {
		if (rand_bytes(p->buf, sizeof(p->buf)) != 0)
			return ERR_INTERNAL;
		p->filled = 1;
		p->used = 0;
	}
	rand_uuid7_make(p->buf + p->used, out);
	/* handed out once: never reused, even if the caller fails afterwards */
	memset(p->buf + p->used, 0, 10);
	p->used += 10;
	return 0;
}

void rand_pool_wipe(struct rand_pool *p)
{
	secret_wipe(p, sizeof(*p));
}

int rand_token(char *out, size_t cap, size_t nbytes)
{
	unsigned char b[128];
	int rc;

	if (nbytes > sizeof(b) || cap < b64url_encoded_len(nbytes) + 1)
		return ERR_LIMIT;
	if (rand_bytes(b, nbytes) != 0)
		return ERR_INTERNAL;
	rc = b64url_encode(b, nbytes, out, cap) < 0 ? ERR_INTERNAL : 0;
	secret_wipe(b, sizeof(b));
	return rc;
}
