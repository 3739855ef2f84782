/*
 * testutil: helpers for the Check tests.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tu_tmpdir(void)
{
	static char path[512];
	const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	snprintf(path, sizeof(path), "%s/idp-test-XXXXXX", base);
	if (mkdtemp(path) == NULL)
		abort();
	return path;
}

static int tu_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void tu_rmtree(const char *path)
{
	nftw(path, tu_rm, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_write_file(const char *path, const char *text, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return -1;
	if (fchmod(fd, (mode_t)mode) != 0 || write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

int tu_file_contains(const char *path, const char *needle)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len);
	int found;

	if (buf == NULL)
		return 0;
	found = memmem(buf, len, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

int64_t tu_clock(void *ctx)
{
	return *(int64_t *)ctx;
}
