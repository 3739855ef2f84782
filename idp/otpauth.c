/*
 * otpauth: key URIs and base32 (see otpauth.h).
 */
#include "otpauth.h"

#include "err.h"
#include "hex.h"
#include "secret.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Shortest secret a parsed URI may carry: 80 bits, what many services issue. */
#define OTPAUTH_SECRET_MIN 10

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char *const alg_names[] = {"SHA1", "SHA256", "SHA512"};

const char *otpauth_alg_name(enum otpauth_alg alg)
{
	return (unsigned)alg < 3 ? alg_names[alg] : NULL;
}

int otpauth_alg_parse(const char *s, enum otpauth_alg *out)
{
	for (int i = 0; i < 3; i++) {
		if (strcasecmp(s, alg_names[i]) == 0) {
			*out = (enum otpauth_alg)i;
			return 0;
		}
	}
	return -1;
}

ssize_t otpauth_base32_encode(const void *src, size_t n, char *out, size_t cap)
{
	const unsigned char *s = src;
	size_t len = (n * 8 + 4) / 5, j = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (cap < len + 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | s[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[j++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[j++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[j] = '\0';
	return (ssize_t)j;
}

static int b32_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

ssize_t otpauth_base32_decode(const char *src, size_t len, void *out, size_t cap)
{
	unsigned char *d = out;
	size_t data = len, j = 0;
	uint32_t acc = 0;
	int bits = 0;

	/* Padding: only as a whole 8-character group's tail, 1, 3, 4 or 6 '='. */
	while (data > 0 && src[data - 1] == '=')
		data--;
	if (data != len) {
		size_t pad = len - data;
		if (len % 8 != 0 || !(pad == 1 || pad == 3 || pad == 4 || pad == 6))
			return -1;
	}
	switch (data % 8) {
	case 0:
	case 2:
	case 4:
	case 5:
	case 7:
		break;
	default:
		return -1;
	}
	if (data * 5 / 8 > cap)
		return -1;
	for (size_t i = 0; i < data; i++) {
		int v = b32_value((unsigned char)src[i]);
		if (v < 0)
			return -1;
		acc = acc << 5 | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			d[j++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1; /* keep only the bits not yet written */
		}
	}
	/* The leftover bits must be zero: one accepted spelling per secret. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (ssize_t)j;
}

/* Append s percent-encoded (all but RFC 3986 unreserved characters and '@'). */
static int pct_append(char *out, size_t cap, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		            *p == '~' || *p == '@';
		if (*len + (plain ? 1 : 3) >= cap)
			return -1;
		if (plain) {
			out[(*len)++] = (char)*p;
		} else {
			out[(*len)++] = '%';
			out[(*len)++] = hex[*p >> 4];
			out[(*len)++] = hex[*p & 15];
		}
	}
	out[*len] = '\0';
	return 0;
}

static int raw_append(char *out, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= cap)
		return -1;
	memcpy(out + *len, s, n + 1);
	*len += n;
	return 0;
}

int otpauth_uri(const struct otpauth *k, char *out, size_t cap, struct err *err)
{
	char b32[OTPAUTH_B32_MAX], tail[96];
	size_t len = 0;
	int rc = 0;

	if (!utf8_printable(k->issuer) || strchr(k->issuer, ':') != NULL)
		return err_set(err, ERR_INVALID, "issuer must be printable text without ':'");
	if (k->account[0] == '\0' || !utf8_printable(k->account) || strchr(k->account, ':') != NULL)
		return err_set(err, ERR_INVALID, "account name must be printable text without ':'");
	if (otpauth_alg_name(k->alg) == NULL || (k->digits != 6 && k->digits != 8) ||
	    k->period < 1 || k->period > 300)
		return err_set(err, ERR_INVALID, "unsupported algorithm, digits or period");
	if (k->secret_len < 1 || k->secret_len > OTPAUTH_SECRET_MAX ||
	    otpauth_base32_encode(k->secret, k->secret_len, b32, sizeof(b32)) < 0)
		return err_set(err, ERR_INVALID, "secret length out of range");
	snprintf(tail, sizeof(tail), "&algorithm=%s&digits=%u&period=%u", otpauth_alg_name(k->alg),
	         k->digits, k->period);
	if (raw_append(out, cap, &len, "otpauth://totp/") != 0 ||
	    (k->issuer[0] != '\0' && (pct_append(out, cap, &len, k->issuer) != 0 ||
	                              raw_append(out, cap, &len, ":") != 0)) ||
	    pct_append(out, cap, &len, k->account) != 0 ||
	    raw_append(out, cap, &len, "?secret=") != 0 || raw_append(out, cap, &len, b32) != 0 ||
	    (k->issuer[0] != '\0' && (raw_append(out, cap, &len, "&issuer=") != 0 ||
	                              pct_append(out, cap, &len, k->issuer) != 0)) ||
	    raw_append(out, cap, &len, tail) != 0)
		rc = err_set(err, ERR_LIMIT, "key URI longer than %zu bytes", cap - 1);
	secret_wipe(b32, sizeof(b32));
	if (rc != 0)
		secret_wipe(out, cap);
	return rc;
}

/* Percent-decode n bytes of s into out (capacity cap); the decoded length, or -1. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -1;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || j + 1 >= cap)
			return -1;
		out[j++] = c;
	}
	out[j] = '\0';
	return (int)j;
}

/* Parse a decimal in [min, max] from the whole string s; -1 if it is not one. */
static long parse_uint(const char *s, long min, long max)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 6)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= min && v <= max ? v : -1;
}

enum { P_SECRET, P_ISSUER, P_ALGORITHM, P_DIGITS, P_PERIOD, P_N };

static int otpauth_parse_fields(const char *uri, struct otpauth *k, struct err *err)
{
	static const char *const names[P_N] = {"secret", "issuer", "algorithm", "digits", "period"};
	static const char scheme[] = "otpauth://";
	char label[OTPAUTH_LABEL_MAX * 2], value[OTPAUTH_URI_MAX];
	char issuer_param[OTPAUTH_LABEL_MAX] = "";
	const char *p, *q, *colon;
	int seen[P_N] = {0};
	size_t len;

	memset(k, 0, sizeof(*k));
	k->alg = OTPAUTH_SHA1;
	k->digits = 6;
	k->period = 30;
	if (uri == NULL || (len = strnlen(uri, OTPAUTH_URI_MAX)) == OTPAUTH_URI_MAX)
		return err_set(err, ERR_INVALID, "key URI missing or longer than %d bytes",
		               OTPAUTH_URI_MAX - 1);
	if (strncasecmp(uri, scheme, sizeof(scheme) - 1) != 0)
		return err_set(err, ERR_INVALID, "not an otpauth:// URI");
	p = uri + sizeof(scheme) - 1;
	if (strncasecmp(p, "hotp/", 5) == 0)
		return err_set(err, ERR_INVALID, "counter-based (hotp) keys are not supported");
	if (strncasecmp(p, "totp/", 5) != 0)
		return err_set(err, ERR_INVALID, "key type must be totp");
	p += 5;
	if (strchr(p, '#') != NULL)
		return err_set(err, ERR_INVALID, "key URI has a fragment");
	if ((q = strchr(p, '?')) == NULL)
		return err_set(err, ERR_INVALID, "key URI has no parameters (no secret)");
	if (pct_decode(p, (size_t)(q - p), label, sizeof(label)) < 0 || !utf8_printable(label))
		return err_set(err, ERR_INVALID, "label is not valid percent-encoded text");
	if ((colon = strchr(label, ':')) != NULL) {
		const char *acct = colon + 1;
		if ((size_t)(colon - label) >= sizeof(k->issuer) || strchr(acct, ':') != NULL)
			return err_set(err, ERR_INVALID, "label must be ISSUER:ACCOUNT");
		memcpy(k->issuer, label, (size_t)(colon - label));
		while (*acct == ' ')
			acct++;
		snprintf(k->account, sizeof(k->account), "%s", acct);
		if (strlen(acct) >= sizeof(k->account))
			return err_set(err, ERR_INVALID, "account name too long");
	} else {
		/*
		 * Leading spaces go here too, as after "ISSUER:": otherwise a key
		 * written back with an issuer reads as another account (found by
		 * tests/fuzz/fuzz_otpauth).
		 */
		const char *acct = label + strspn(label, " ");
		if (strlen(acct) >= sizeof(k->account))
			return err_set(err, ERR_INVALID, "account name too long");
		snprintf(k->account, sizeof(k->account), "%s", acct);
	}
	if (k->account[0] == '\0')
		return err_set(err, ERR_INVALID, "label has no account name");

	for (p = q + 1; *p != '\0';) {
		const char *amp = strchr(p, '&'), *eq;
		size_t plen = amp != NULL ? (size_t)(amp - p) : strlen(p);
		int which = -1;

		eq = memchr(p, '=', plen);
		if (eq == NULL)
			return err_set(err, ERR_INVALID, "parameter without '='");
		for (int i = 0; i < P_N; i++)
			if ((size_t)(eq - p) == strlen(names[i]) &&
			    strncasecmp(p, names[i], strlen(names[i])) == 0)
				which = i;
		if (which >= 0) {
			if (seen[which]++)
				return err_set(err, ERR_INVALID, "parameter '%s' given twice",
				               names[which]);
			if (pct_decode(eq + 1, plen - (size_t)(eq + 1 - p), value, sizeof(value)) <
			    0)
				return err_set(err, ERR_INVALID,
				               "parameter '%s' is not valid percent-encoding",
				               names[which]);
		}
		switch (which) {
		case P_SECRET: {
			ssize_t n = otpauth_base32_decode(value, strlen(value), k->secret,
			                                  sizeof(k->secret));
			secret_wipe(value, sizeof(value));
			if (n < 0)
				return err_set(err, ERR_INVALID,
				               "secret is not valid base32 of "
				               "at most %d bytes",
				               OTPAUTH_SECRET_MAX);
			if (n < OTPAUTH_SECRET_MIN)
				return err_set(err, ERR_INVALID,
				               "secret shorter than %d bytes (80 bits)",
				               OTPAUTH_SECRET_MIN);
			k->secret_len = (size_t)n;
			break;
		}
		case P_ISSUER:
			if (!utf8_printable(value) || strchr(value, ':') != NULL ||
			    strlen(value) >= sizeof(issuer_param))
				return err_set(err, ERR_INVALID,
				               "issuer must be printable text without ':'");
			snprintf(issuer_param, sizeof(issuer_param), "%s", value);
			break;
		case P_ALGORITHM:
			if (otpauth_alg_parse(value, &k->alg) != 0)
				return err_set(err, ERR_INVALID,
				               "algorithm must be SHA1, SHA256 or SHA512");
			break;
		case P_DIGITS:
			if (strcmp(value, "6") != 0 && strcmp(value, "8") != 0)
				return err_set(err, ERR_INVALID, "digits must be 6 or 8");
			k->digits = (unsigned)(value[0] - '0');
			break;
		case P_PERIOD: {
			long v = parse_uint(value, 1, 300);
			if (v < 0)
				return err_set(err, ERR_INVALID, "period must be 1..300 seconds");
			k->period = (unsigned)v;
			break;
		}
		default:
			break; /* an app's extra parameter */
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	if (!seen[P_SECRET])
		return err_set(err, ERR_INVALID, "key URI has no secret");
	if (seen[P_ISSUER]) {
		if (k->issuer[0] != '\0' && strcmp(k->issuer, issuer_param) != 0)
			return err_set(err, ERR_INVALID,
			               "issuer parameter and label prefix disagree");
		snprintf(k->issuer, sizeof(k->issuer), "%s", issuer_param);
	}
	return 0;
}

int otpauth_parse(const char *uri, struct otpauth *k, struct err *err)
{
	int rc = otpauth_parse_fields(uri, k, err);

	if (rc != 0)
		secret_wipe(k, sizeof(*k));
	return rc;
}
