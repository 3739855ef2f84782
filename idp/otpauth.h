/*
 * otpauth: the key URI that authenticator apps scan, and base32.
 *
 *     otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER
 *         &algorithm=SHA1&digits=6&period=30
 *
 * (Google Authenticator's "Key Uri Format", which every authenticator app
 * follows.)  The label and the issuer are percent-encoded, the secret is
 * unpadded upper-case RFC 4648 base32.  The parser is for URIs from outside
 * (tests, imports, fuzzing): it refuses anything it cannot read exactly and
 * says what.
 */
#ifndef IDP_OTPAUTH_H
#define IDP_OTPAUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

#define OTPAUTH_SECRET_MAX 64   /* longest secret, bytes */
#define OTPAUTH_LABEL_MAX  256  /* issuer or account name, bytes, with the NUL */
#define OTPAUTH_URI_MAX    2048 /* longest URI, with the NUL */
#define OTPAUTH_B32_MAX    (((OTPAUTH_SECRET_MAX + 4) / 5) * 8 + 1)

enum otpauth_alg { OTPAUTH_SHA1 = 0, OTPAUTH_SHA256 = 1, OTPAUTH_SHA512 = 2 };

struct otpauth {
	char issuer[OTPAUTH_LABEL_MAX];  /* may be empty */
	char account[OTPAUTH_LABEL_MAX]; /* the user principal name */
	uint8_t secret[OTPAUTH_SECRET_MAX];
	size_t secret_len;
	enum otpauth_alg alg;
	unsigned digits; /* 6 or 8 */
	unsigned period; /* seconds */
};

/* "SHA1", "SHA256" or "SHA512"; NULL for anything else. */
const char *otpauth_alg_name(enum otpauth_alg alg);

/* The algorithm named by s (case-insensitive); 0, or -1 if unknown. */
int otpauth_alg_parse(const char *s, enum otpauth_alg *out);

/*
 * Encode n bytes as unpadded upper-case base32 (RFC 4648 §6) into out
 * (capacity cap, NUL-terminated).  Returns the length, or -1 if cap is too
 * small.
 */
ssize_t otpauth_base32_encode(const void *src, size_t n, char *out, size_t cap);

/*
 * Decode base32 of len characters into out (capacity cap).  Accepts upper
 * and lower case, and '=' padding only where RFC 4648 puts it; refuses any
 * other character, an impossible length and non-zero trailing bits.
 * Returns the number of bytes, or -1.
 */
ssize_t otpauth_base32_decode(const char *src, size_t len, void *out, size_t cap);

/*
 * Build the key URI for k into out (capacity cap).  The issuer and the
 * account must be valid UTF-8 without control characters and the issuer
 * without ':' (the label's separator).  0, or a negative err code.  out
 * holds the secret: wipe it after use.
 */
int otpauth_uri(const struct otpauth *k, char *out, size_t cap, struct err *err);

/*
 * Parse a key URI into k.  Only "totp" URIs are accepted.  Refused with a
 * reason: another scheme or type, bad percent-encoding, a label and issuer
 * parameter that disagree, a parameter given twice, a missing or invalid
 * secret, an unknown algorithm, digits other than 6 or 8, a period outside
 * 1..300.  Unknown parameters (an app's "image", say) are ignored.  The
 * caller wipes k.
 */
int otpauth_parse(const char *uri, struct otpauth *k, struct err *err);

#endif
