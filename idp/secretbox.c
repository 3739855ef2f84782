/*
 * secretbox: AES-256-GCM sealing under a key file (see secretbox.h).
 *
 * The cipher is fetched from OpenSSL once per key ring and every call gets
 * its own EVP context, so one key ring serves any number of threads.  Each
 * seal draws a fresh 96-bit nonce from the kernel: with random nonces a
 * key stays safe for 2^32 seals (NIST SP 800-38D), orders of magnitude
 * more than a directory's secrets; rotation resets the count.
 */
#include "secretbox.h"

#include "b64.h"
#include "err.h"
#include "rand.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SB_VERSION   "sb1"
#define SB_NONCE_LEN 12
#define SB_TAG_LEN   16
#define SB_FILE_MAX  16384
#define SB_LINE_MAX  200

struct sb_key {
	char kid[SECRETBOX_KID_MAX];
	unsigned char key[SECRETBOX_KEY_LEN];
};

struct secretbox {
	EVP_CIPHER *cipher;
	int n;
	struct sb_key keys[SECRETBOX_MAX_KEYS];
};

static int sb_kid_valid(const char *s, size_t len)
{
	if (len == 0 || len >= SECRETBOX_KID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* Parse the key file's text into keys[]; *n keys.  Line numbers in errors. */
static int sb_parse(const char *path, char *text, struct sb_key *keys, int *n, struct err *err)
{
	int line = 0;
	char *save = NULL;

	*n = 0;
	for (char *p = text; p != NULL; p = save) {
		char *nl = strchr(p, '\n'), *kid, *val, *end;
		size_t kidlen, vallen;
		ssize_t got;

		save = nl != NULL ? nl + 1 : NULL;
		if (nl != NULL)
			*nl = '\0';
		line++;
		if (strlen(p) > SB_LINE_MAX)
			return err_set(err, ERR_INVALID, "%s:%d: line too long", path, line);
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		kid = p;
		kidlen = strcspn(kid, " \t");
		val = kid + kidlen;
		while (*val == ' ' || *val == '\t')
			val++;
		vallen = strcspn(val, " \t");
		if (!sb_kid_valid(kid, kidlen))
			return err_set(err, ERR_INVALID,
			               "%s:%d: expected 'KEY_ID KEY' with a key id of 1..32 of "
			               "[A-Za-z0-9_-]",
			               path, line);
		if (vallen == 0 || val[vallen] != '\0')
			return err_set(err, ERR_INVALID,
			               "%s:%d: expected 'KEY_ID KEY', one key per line", path,
			               line);
		if (*n == SECRETBOX_MAX_KEYS)
			return err_set(err, ERR_LIMIT, "%s:%d: more than %d keys", path, line,
			               SECRETBOX_MAX_KEYS);
		memcpy(keys[*n].kid, kid, kidlen);
		keys[*n].kid[kidlen] = '\0';
		for (int i = 0; i < *n; i++)
			if (strcmp(keys[i].kid, keys[*n].kid) == 0)
				return err_set(err, ERR_INVALID, "%s:%d: key id '%s' given twice",
				               path, line, keys[*n].kid);
		got = b64url_decode(val, vallen, keys[*n].key, sizeof(keys[*n].key));
		/* A decoder refusing a 33-byte value reports -1 too: measure by length. */
		if (got != SECRETBOX_KEY_LEN || vallen != b64url_encoded_len(SECRETBOX_KEY_LEN))
			return err_set(err, ERR_INVALID,
			               "%s:%d: the key must be 32 bytes in unpadded base64url "
			               "(43 characters)",
			               path, line);
		(*n)++;
	}
	if (*n == 0)
		return err_set(err, ERR_INVALID, "%s: no key in the file", path);
	return 0;
}

/* Read and parse a key file into keys[]. */
static int sb_read(const char *path, struct sb_key *keys, int *n, struct err *err)
{
	char *text = malloc(SB_FILE_MAX);
	int rc;

	if (text == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	rc = secret_read_file(path, text, SB_FILE_MAX, err);
	if (rc == ERR_NOT_FOUND)
		err_set(err, ERR_NOT_FOUND,
		        "%s: the key file does not exist (create one with "
		        "'idpctl mfa keygen %s')",
		        path, path);
	if (rc >= 0)
		rc = sb_parse(path, text, keys, n, err);
	secret_wipe(text, SB_FILE_MAX);
	free(text);
	if (rc < 0)
		secret_wipe(keys, sizeof(*keys) * SECRETBOX_MAX_KEYS);
	return rc < 0 ? rc : 0;
}

struct secretbox *secretbox_load(const char *path, struct err *err)
{
	struct secretbox *sb;

	if (path == NULL || *path == '\0') {
		err_set(err, ERR_INVALID, "no key file configured ([mfa] key_file)");
		return NULL;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	if (sb_read(path, sb->keys, &sb->n, err) != 0) {
		free(sb);
		return NULL;
	}
	if ((sb->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL) {
		err_set(err, ERR_INTERNAL, "OpenSSL has no AES-256-GCM");
		secretbox_free(sb);
		return NULL;
	}
	return sb;
}

void secretbox_free(struct secretbox *sb)
{
	if (sb == NULL)
		return;
	EVP_CIPHER_free(sb->cipher);
	secret_wipe(sb, sizeof(*sb));
	free(sb);
}

const char *secretbox_active_kid(const struct secretbox *sb)
{
	return sb->keys[0].kid;
}

int secretbox_nkeys(const struct secretbox *sb)
{
	return sb->n;
}

const char *secretbox_kid(const struct secretbox *sb, int i)
{
	return i >= 0 && i < sb->n ? sb->keys[i].kid : NULL;
}

static const struct sb_key *sb_find(const struct secretbox *sb, const char *kid)
{
	for (int i = 0; i < sb->n; i++)
		if (strcmp(sb->keys[i].kid, kid) == 0)
			return &sb->keys[i];
	return NULL;
}

int secretbox_has_kid(const struct secretbox *sb, const char *kid)
{
	return sb_find(sb, kid) != NULL;
}

int secretbox_context(char *out, size_t cap, const char *kind, const char *tenant_id,
                      const char *object_id)
{
	int n = snprintf(out, cap, "idp/%s/%s/%s", kind, tenant_id, object_id);

	return n < 0 || (size_t)n >= cap ? ERR_LIMIT : 0;
}

size_t secretbox_sealed_cap(size_t n)
{
	return sizeof(SB_VERSION) + SECRETBOX_KID_MAX +
	       b64url_encoded_len(SB_NONCE_LEN + n + SB_TAG_LEN) + 1;
}

/* The authenticated header: "sb1.KID." followed by the context. */
static int sb_aad(EVP_CIPHER_CTX *c, const char *kid, const char *context)
{
	char head[sizeof(SB_VERSION) + SECRETBOX_KID_MAX + 1];
	int outl;

	snprintf(head, sizeof(head), "%s.%s.", SB_VERSION, kid);
	/* EVP_CipherUpdate: the same call serves the encrypting and decrypting side. */
	if (EVP_CipherUpdate(c, NULL, &outl, (const unsigned char *)head, (int)strlen(head)) != 1)
		return -1;
	if (*context != '\0' && EVP_CipherUpdate(c, NULL, &outl, (const unsigned char *)context,
	                                         (int)strlen(context)) != 1)
		return -1;
	return 0;
}

int secretbox_seal(const struct secretbox *sb, const char *context, const void *plain, size_t n,
                   char *out, size_t cap, struct err *err)
{
	const struct sb_key *k = &sb->keys[0];
	unsigned char *blob = NULL;
	EVP_CIPHER_CTX *c = NULL;
	size_t bloblen = SB_NONCE_LEN + n + SB_TAG_LEN;
	int rc = ERR_INTERNAL, outl = 0, head;
	ssize_t enc;

	if (context == NULL)
		context = "";
	if (n > SECRETBOX_MAX_PLAIN || strlen(context) >= SECRETBOX_CONTEXT_MAX)
		return err_set(err, ERR_LIMIT, "secret or context too long to seal");
	if (cap < secretbox_sealed_cap(n))
		return err_set(err, ERR_LIMIT, "no room for the sealed value");
	if ((blob = malloc(bloblen)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if (rand_bytes(blob, SB_NONCE_LEN) != 0) {
		rc = err_set(err, ERR_INTERNAL, "the kernel's random source failed");
		goto out;
	}
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(c, sb->cipher, k->key, blob, NULL) != 1 ||
	    sb_aad(c, k->kid, context) != 0 ||
	    (n > 0 && EVP_EncryptUpdate(c, blob + SB_NONCE_LEN, &outl, plain, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(c, blob + SB_NONCE_LEN + outl, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SB_TAG_LEN, blob + SB_NONCE_LEN + n) !=
	            1) {
		rc = err_set(err, ERR_INTERNAL, "AES-256-GCM encryption failed");
		goto out;
	}
	head = snprintf(out, cap, "%s.%s.", SB_VERSION, k->kid);
	enc = b64url_encode(blob, bloblen, out + head, cap - (size_t)head);
	if (enc < 0) {
		rc = err_set(err, ERR_LIMIT, "no room for the sealed value");
		goto out;
	}
	rc = head + (int)enc;
out:
	EVP_CIPHER_CTX_free(c);
	if (blob != NULL)
		secret_wipe(blob, bloblen);
	free(blob);
	return rc;
}

/* Split "sb1.KID.DATA": the key id into kid, *data at DATA. */
static int sb_split(const char *sealed, char kid[SECRETBOX_KID_MAX], const char **data)
{
	const char *p, *dot;

	if (sealed == NULL || strncmp(sealed, SB_VERSION ".", sizeof(SB_VERSION)) != 0)
		return ERR_INVALID;
	p = sealed + sizeof(SB_VERSION);
	if ((dot = strchr(p, '.')) == NULL || !sb_kid_valid(p, (size_t)(dot - p)))
		return ERR_INVALID;
	memcpy(kid, p, (size_t)(dot - p));
	kid[dot - p] = '\0';
	*data = dot + 1;
	return 0;
}

int secretbox_sealed_kid(const char *sealed, char kid[SECRETBOX_KID_MAX])
{
	const char *data;

	return sb_split(sealed, kid, &data);
}

int secretbox_open(const struct secretbox *sb, const char *context, const char *sealed, void *out,
                   size_t cap, struct err *err)
{
	char kid[SECRETBOX_KID_MAX];
	const struct sb_key *k;
	const char *data;
	unsigned char *blob = NULL;
	EVP_CIPHER_CTX *c = NULL;
	size_t datalen, maxblob = SB_NONCE_LEN + SECRETBOX_MAX_PLAIN + SB_TAG_LEN, n;
	ssize_t bloblen;
	int rc, outl = 0;

	if (context == NULL)
		context = "";
	if (sb_split(sealed, kid, &data) != 0)
		return err_set(err, ERR_INVALID, "not a sealed value");
	if ((k = sb_find(sb, kid)) == NULL)
		return err_set(err, ERR_NOT_FOUND,
		               "sealed under key '%s', which is not in the key file", kid);
	datalen = strlen(data);
	if (datalen > b64url_encoded_len(maxblob))
		return err_set(err, ERR_INVALID, "sealed value too long");
	if ((blob = malloc(maxblob)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	bloblen = b64url_decode(data, datalen, blob, maxblob);
	if (bloblen < SB_NONCE_LEN + SB_TAG_LEN) {
		rc = err_set(err, ERR_INVALID, "not a sealed value");
		goto out;
	}
	n = (size_t)bloblen - SB_NONCE_LEN - SB_TAG_LEN;
	if (n > cap) {
		rc = err_set(err, ERR_LIMIT, "no room for the secret");
		goto out;
	}
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex2(c, sb->cipher, k->key, blob, NULL) != 1 ||
	    sb_aad(c, k->kid, context) != 0 ||
	    (n > 0 && EVP_DecryptUpdate(c, out, &outl, blob + SB_NONCE_LEN, (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SB_TAG_LEN, blob + SB_NONCE_LEN + n) !=
	            1) {
		rc = err_set(err, ERR_INTERNAL, "AES-256-GCM decryption failed");
		goto out;
	}
	if (EVP_DecryptFinal_ex(c, (unsigned char *)out + outl, &outl) != 1) {
		secret_wipe(out, n);
		rc = err_set(err, ERR_DENIED,
		             "sealed value does not open under key '%s' (wrong key file, or the "
		             "value was moved or altered)",
		             kid);
		goto out;
	}
	rc = (int)n;
out:
	EVP_CIPHER_CTX_free(c);
	if (blob != NULL)
		secret_wipe(blob, maxblob);
	free(blob);
	return rc;
}

/* ---- writing key files ------------------------------------------------ */

static int sb_new_key(struct sb_key *k, struct err *err)
{
	unsigned char r[3];
	char day[16];
	time_t now = time(NULL);
	struct tm tm;

	if (rand_bytes(k->key, sizeof(k->key)) != 0 || rand_bytes(r, sizeof(r)) != 0)
		return err_set(err, ERR_INTERNAL, "the kernel's random source failed");
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	snprintf(k->kid, sizeof(k->kid), "k%s-%02x%02x%02x", day, r[0], r[1], r[2]);
	return 0;
}

/* The file's text for keys[0..n). */
static int sb_format(const struct sb_key *keys, int n, char *buf, size_t cap)
{
	size_t len;
	int w;

	w = snprintf(buf, cap,
	             "# idp secret key file: keep it mode 600, back it up apart from the store.\n"
	             "# One key per line, KEY_ID BASE64URL_KEY.  The first key seals; the others\n"
	             "# only open what was sealed before a rotation (idpctl mfa rotate-key).\n");
	if (w < 0 || (size_t)w >= cap)
		return -1;
	len = (size_t)w;
	for (int i = 0; i < n; i++) {
		char b64[64];

		if (b64url_encode(keys[i].key, sizeof(keys[i].key), b64, sizeof(b64)) < 0)
			return -1;
		w = snprintf(buf + len, cap - len, "%s %s\n", keys[i].kid, b64);
		secret_wipe(b64, sizeof(b64));
		if (w < 0 || (size_t)w >= cap - len)
			return -1;
		len += (size_t)w;
	}
	return (int)len;
}

/* Write buf to fd entirely and fsync it. */
static int sb_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return fsync(fd);
}

/* fsync the directory holding path, so a rename survives a crash. */
static void sb_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/*
 * Write keys to path: with exclusive, create it (failing if it exists);
 * otherwise replace it atomically through a temporary file beside it.
 */
static int sb_write_file(const char *path, const struct sb_key *keys, int n, int exclusive,
                         struct err *err)
{
	char *buf = malloc(SB_FILE_MAX), tmp[4096];
	int fd = -1, len, rc = 0;

	if (buf == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if ((len = sb_format(keys, n, buf, SB_FILE_MAX)) < 0) {
		rc = err_set(err, ERR_LIMIT, "%s: too many keys", path);
		goto out;
	}
	if (exclusive) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			rc = err_set(err, errno == EEXIST ? ERR_EXISTS : ERR_IO, "%s: %s", path,
			             strerror(errno));
			goto out;
		}
		if (fchmod(fd, 0600) != 0 || sb_write_all(fd, buf, (size_t)len) != 0) {
			rc = err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			goto out;
		}
		close(fd);
		sb_sync_dir(path);
		goto out;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp)) {
		rc = err_set(err, ERR_INVALID, "%s: path too long", path);
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		rc = err_set(err, ERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || sb_write_all(fd, buf, (size_t)len) != 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0) {
		rc = err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	sb_sync_dir(path);
out:
	secret_wipe(buf, SB_FILE_MAX);
	free(buf);
	return rc;
}

int secretbox_file_create(const char *path, char kid[SECRETBOX_KID_MAX], struct err *err)
{
	struct sb_key k;
	int rc;

	if ((rc = sb_new_key(&k, err)) == 0 && (rc = sb_write_file(path, &k, 1, 1, err)) == 0 &&
	    kid != NULL)
		memcpy(kid, k.kid, SECRETBOX_KID_MAX);
	secret_wipe(&k, sizeof(k));
	return rc;
}

int secretbox_file_add_key(const char *path, char kid[SECRETBOX_KID_MAX], struct err *err)
{
	struct sb_key *keys = calloc(SECRETBOX_MAX_KEYS + 1, sizeof(*keys));
	int n = 0, rc;

	if (keys == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if ((rc = sb_read(path, keys + 1, &n, err)) != 0)
		goto out;
	if (n == SECRETBOX_MAX_KEYS) {
		rc = err_set(
		        err, ERR_LIMIT,
		        "%s: already %d keys: prune retired ones first (idpctl mfa prune-keys)",
		        path, n);
		goto out;
	}
	do {
		if ((rc = sb_new_key(&keys[0], err)) != 0)
			goto out;
		rc = 0;
		for (int i = 1; i <= n; i++)
			if (strcmp(keys[i].kid, keys[0].kid) == 0)
				rc = 1;
	} while (rc == 1);
	if ((rc = sb_write_file(path, keys, n + 1, 0, err)) == 0 && kid != NULL)
		memcpy(kid, keys[0].kid, SECRETBOX_KID_MAX);
out:
	secret_wipe(keys, sizeof(*keys) * (SECRETBOX_MAX_KEYS + 1));
	free(keys);
	return rc;
}

int secretbox_file_prune(const char *path, int (*keep)(void *ctx, const char *kid), void *ctx,
                         int *dropped, struct err *err)
{
	struct sb_key *keys = calloc(SECRETBOX_MAX_KEYS, sizeof(*keys));
	int n = 0, kept = 1, rc;

	*dropped = 0;
	if (keys == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	if ((rc = sb_read(path, keys, &n, err)) != 0)
		goto out;
	for (int i = 1; i < n; i++) {
		if (keep(ctx, keys[i].kid))
			keys[kept++] = keys[i];
		else
			(*dropped)++;
	}
	if (*dropped > 0)
		rc = sb_write_file(path, keys, kept, 0, err);
out:
	secret_wipe(keys, sizeof(*keys) * SECRETBOX_MAX_KEYS);
	free(keys);
	return rc;
}

int secretbox_derive(const struct secretbox *sb, const char *label, unsigned char out[32])
{
	unsigned int len = 32;
	char msg[128];

	/* HMAC-SHA256(active key, "idp-derive:" label): one-way, so the key stays unknown. */
	snprintf(msg, sizeof(msg), "idp-derive:%s", label);
	return HMAC(EVP_sha256(), sb->keys[0].key, SECRETBOX_KEY_LEN, (const unsigned char *)msg,
		    strlen(msg), out, &len) != NULL
		       ? 0
		       : ERR_INTERNAL;
}
