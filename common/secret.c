/*
 * secret: wrappers over OpenSSL's constant-time helpers and the file checks
 * every secret-holding file goes through.
 */
#include "secret.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secret_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int secret_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int same = CRYPTO_memcmp(a, b, la < lb ? la : lb) == 0;
	return same & (la == lb);
}

void secret_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

void secret_sha256(const void *data, size_t n, uint8_t out[SECRET_SHA256_LEN])
{
	SHA256(data, n, out);
}

void secret_sha256_hex(const char *s, char out[SECRET_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SECRET_SHA256_LEN];

	SHA256((const unsigned char *)s, strlen(s), d);
	for (size_t i = 0; i < sizeof(d); i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

static int secret_check_fd(int fd, const char *path, struct err *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(err, ERR_INVALID, "%s: not a regular file", path);
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return err_set(err, ERR_DENIED,
			       "%s: holds a secret but group or others can access it (mode %04o); "
			       "chmod 600 it",
			       path, (unsigned)(st.st_mode & 07777));
	return 0;
}

int secret_check_mode(const char *path, struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc;

	if (fd < 0)
		return err_set(err, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "%s: %s", path,
			       strerror(errno));
	rc = secret_check_fd(fd, path, err);
	close(fd);
	return rc;
}

int secret_read_file(const char *path, char *buf, size_t cap, struct err *err)
{
	size_t len = 0;
	int fd, rc;

	if (cap == 0)
		return err_set(err, ERR_INTERNAL, "%s: no room", path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(err, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "%s: %s", path,
			       strerror(errno));
	rc = secret_check_fd(fd, path, err);
	if (rc != 0)
		goto out;
	for (;;) {
		ssize_t got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len == cap) {
			rc = err_set(err, ERR_LIMIT, "%s: longer than %zu bytes", path, cap - 1);
			goto out;
		}
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	rc = (int)len;
out:
	if (rc < 0)
		secret_wipe(buf, cap);
	close(fd);
	return rc;
}
