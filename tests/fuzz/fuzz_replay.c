/*
 * fuzz_replay: the main() the harnesses get outside the fuzzing build.
 *
 *     fuzz_NAME_replay PATH...
 *
 * Runs LLVMFuzzerTestOneInput once on every file named, and on every
 * regular file inside every directory named (sorted, so runs repeat), the
 * way libFuzzer replays a corpus.  A crash, a sanitizer report or a failed
 * property aborts, which fails the test; otherwise it prints how many
 * inputs ran.  A missing path is an error: a regression corpus that
 * silently vanished would make the test pass for nothing.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

/* Harnesses without a world do not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got;
		if (len == cap) {
			uint8_t *grown;
			cap = cap ? cap * 2 : 4096;
			if ((grown = realloc(data, cap)) == NULL)
				abort();
			data = grown;
		}
		got = fread(data + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	/* a copy of exactly len bytes, so that ASan sees a read past the input */
	{
		uint8_t *exact = malloc(len > 0 ? len : 1);
		if (exact == NULL)
			abort();
		if (len > 0)
			memcpy(exact, data, len);
		free(data);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int replay_name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_path(const char *path, size_t *count)
{
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (replay_file(path) != 0)
			return -1;
		(*count)++;
		return 0;
	}
	if ((n = scandir(path, &names, NULL, replay_name_cmp)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];
		if (names[i]->d_name[0] != '.' && rc == 0) {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
				if (replay_file(full) != 0)
					rc = -1;
				else
					(*count)++;
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) != 0)
			return 1;
	printf("%s: %zu inputs replayed, no crash\n", argv[0], count);
	return 0;
}
