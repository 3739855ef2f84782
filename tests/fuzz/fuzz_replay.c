/*
 * fuzz_replay: the main() the harnesses get outside the fuzzing build.
 *
 *     fuzz_NAME_replay PATH...
 *     fuzz_NAME_replay --bench SECONDS PATH...
 *
 * Runs LLVMFuzzerTestOneInput once on every file named, and on every
 * regular file inside every directory named (sorted, so runs repeat), the
 * way libFuzzer replays a corpus.  A crash, a sanitizer report or a failed
 * property aborts, which fails the test; otherwise it prints how many
 * inputs ran.  A missing path is an error: a regression corpus that
 * silently vanished would make the test pass for nothing.
 *
 * --bench runs the inputs over and over for SECONDS and prints
 * "execs N seconds S execs/s R": bench/fuzz compares that rate (this
 * build's code, e.g. a release build) with libFuzzer's in the
 * instrumented build.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

/* Harnesses without a world do not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/* --bench: the inputs kept in memory instead of run at once. */
static int replay_bench;
static struct {
	uint8_t *data;
	size_t len;
} * replay_inputs;
static size_t replay_n, replay_cap;

static void replay_keep(uint8_t *data, size_t len)
{
	if (replay_n == replay_cap) {
		replay_cap = replay_cap ? replay_cap * 2 : 256;
		replay_inputs = realloc(replay_inputs, replay_cap * sizeof(*replay_inputs));
		if (replay_inputs == NULL)
			abort();
	}
	replay_inputs[replay_n].data = data;
	replay_inputs[replay_n++].len = len;
}

static double replay_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
		if (replay_bench) {
			replay_keep(exact, len);
			return 0;
		}
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
	double seconds = 0, start, now;
	unsigned long long execs = 0;
	int first = 1;

	if (argc > 3 && strcmp(argv[1], "--bench") == 0) {
		replay_bench = 1;
		seconds = atof(argv[2]);
		first = 3;
	}
	if (argc <= first || (replay_bench && seconds <= 0)) {
		fprintf(stderr, "usage: %s [--bench SECONDS] FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = first; i < argc; i++)
		if (replay_path(argv[i], &count) != 0)
			return 1;
	if (!replay_bench) {
		printf("%s: %zu inputs replayed, no crash\n", argv[0], count);
		return 0;
	}
	if (replay_n == 0) {
		fprintf(stderr, "%s: no inputs\n", argv[0]);
		return 1;
	}
	start = now = replay_now();
	while (now - start < seconds) {
		for (size_t i = 0; i < replay_n; i++)
			LLVMFuzzerTestOneInput(replay_inputs[i].data, replay_inputs[i].len);
		execs += replay_n;
		now = replay_now();
	}
	printf("execs %llu seconds %.2f execs/s %.0f\n", execs, now - start,
	       (double)execs / (now - start));
	for (size_t i = 0; i < replay_n; i++)
		free(replay_inputs[i].data);
	free(replay_inputs);
	return 0;
}
