/*
 * b64: base64url without padding (RFC 4648 §5), as JWTs, PKCE and our
 * opaque tokens use it.
 */
#ifndef IDP_B64_H
#define IDP_B64_H

#include <stddef.h>
#include <sys/types.h>

/* Length of the encoding of n bytes, without the NUL. */
size_t b64url_encoded_len(size_t n);

/*
 * Encode n bytes of src into dst (capacity cap, NUL-terminated).  Returns
 * the length written, or -1 if cap is too small.
 */
ssize_t b64url_encode(const void *src, size_t n, char *dst, size_t cap);

/*
 * Decode len characters of src into dst (capacity cap).  Rejects padding,
 * characters outside the alphabet, an impossible length and non-zero
 * trailing bits (so every byte string has exactly one accepted encoding).
 * Returns the number of bytes, or -1.
 */
ssize_t b64url_decode(const char *src, size_t len, void *dst, size_t cap);

#endif
