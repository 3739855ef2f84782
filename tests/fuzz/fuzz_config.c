/*
 * fuzz_config: the INI loader (libinih underneath, our reader and table on
 * top) with a table that has a key of every type, the idp's own table
 * through idp_config_load() on a real file, and the sync daemon's table
 * (sync_config_load_string).
 *
 * Properties: a file that loads leaves every number inside its bounds, an
 * enum inside its choices and a checked string passing its check; a file
 * that does not load says why in "NAME:LINE: ..." form and leaves nothing
 * to free (LeakSanitizer checks the second half).
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include "config.h"
#include "err.h"
#include "idp_config.h"
#include "sync_config.h"

#include <stddef.h>
#include <unistd.h>

struct fuzz_conf {
	char *name, *word;
	long long count, wait, size;
	int flag, mode;
	struct cfg_list items;
};

static const char *const fuzz_modes[] = {"fast", "safe", "paranoid", NULL};

static int fuzz_no_space(const char *v, char *why, size_t n)
{
	if (strpbrk(v, " \t") != NULL) {
		snprintf(why, n, "no spaces");
		return -1;
	}
	return 0;
}

#define F(x) offsetof(struct fuzz_conf, x)
static const struct cfg_key fuzz_keys[] = {
        {"main", "name", CFG_STRING, F(name), "none", 0, 0, 0, NULL, NULL},
        {"main", "word", CFG_STRING, F(word), NULL, 0, 0, 0, NULL, fuzz_no_space},
        {"main", "count", CFG_INT, F(count), "3", 0, -50, 50, NULL, NULL},
        {"main", "flag", CFG_BOOL, F(flag), "false", 0, 0, 0, NULL, NULL},
        {"limits", "wait", CFG_DURATION, F(wait), "30s", 0, 1, 86400, NULL, NULL},
        {"limits", "size", CFG_SIZE, F(size), "64k", 0, 1024, 1LL << 30, NULL, NULL},
        {"limits", "mode", CFG_ENUM, F(mode), "safe", 0, 0, 0, fuzz_modes, NULL},
        {"limits", "item", CFG_LIST, F(items), NULL, 0, 0, 0, NULL, NULL},
        CFG_END,
};

static char fuzz_path[4096];
static int fuzz_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz-config-XXXXXX",
	         tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((fuzz_fd = mkstemp(fuzz_path)) < 0) {
		perror("fuzz_config: mkstemp");
		abort();
	}
	/* the file goes when the process ends, crash or not */
	unlink(fuzz_path);
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
	return 0;
}

static void fuzz_table(const char *text)
{
	struct fuzz_conf c;
	struct err err = {0};

	memset(&c, 0, sizeof(c));
	if (cfg_load_string("fuzz.conf", text, fuzz_keys, &c, &err) != 0) {
		FUZZ_ASSERT(err.code != 0 && strncmp(err.msg, "fuzz.conf", 9) == 0,
		            "refusal not naming the file: '%s'", err.msg);
		FUZZ_ASSERT(c.name == NULL && c.word == NULL && c.items.v == NULL,
		            "a refused file left strings behind");
		return;
	}
	FUZZ_ASSERT(c.name != NULL, "the default was not applied");
	FUZZ_ASSERT(c.count >= -50 && c.count <= 50, "count %lld", c.count);
	FUZZ_ASSERT(c.wait >= 1 && c.wait <= 86400, "wait %lld", c.wait);
	FUZZ_ASSERT(c.size >= 1024 && c.size <= (1LL << 30), "size %lld", c.size);
	FUZZ_ASSERT(c.mode >= 0 && c.mode <= 2, "mode %d", c.mode);
	FUZZ_ASSERT(c.flag == 0 || c.flag == 1, "flag %d", c.flag);
	FUZZ_ASSERT(c.word == NULL || strpbrk(c.word, " \t") == NULL, "unchecked word '%s'",
	            c.word);
	for (size_t i = 0; i < c.items.n; i++)
		FUZZ_ASSERT(c.items.v[i] != NULL, "a hole in the list");
	cfg_free(fuzz_keys, &c);
}

static void fuzz_idp_file(const uint8_t *data, size_t size)
{
	struct idp_config cfg;
	struct err err = {0};

	if (ftruncate(fuzz_fd, 0) != 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		abort();
	if (idp_config_load(fuzz_path, &cfg, &err) != 0) {
		FUZZ_ASSERT(err.code != 0 && err.msg[0] != '\0', "a silent refusal");
		return;
	}
	FUZZ_ASSERT(cfg.store_path != NULL && cfg.public_url != NULL, "required keys missing");
	FUZZ_ASSERT(cfg.port >= 0 && cfg.port <= 65535, "port %lld", cfg.port);
	FUZZ_ASSERT(cfg.max_body >= 1024, "max_body %lld", cfg.max_body);
	FUZZ_ASSERT(cfg.plain_http ? cfg.tls_cert == NULL : cfg.tls_cert != NULL,
	            "TLS settings inconsistent");
	FUZZ_ASSERT(cfg.mfa_digits == 6 || cfg.mfa_digits == 8, "digits %lld", cfg.mfa_digits);
	idp_config_free(&cfg);
}

/* The sync daemon's table, from text (sync_config_load_string). */
static void fuzz_sync(const char *text)
{
	struct sync_config cfg;
	struct err err = {0};

	if (sync_config_load_string("sync.conf", text, &cfg, &err) != 0) {
		FUZZ_ASSERT(err.code != 0 && err.msg[0] != '\0', "a silent refusal");
		return;
	}
	FUZZ_ASSERT(cfg.uri != NULL && cfg.map_upn != NULL && cfg.map_group_name != NULL,
	            "required keys missing");
	FUZZ_ASSERT(cfg.user_bases.n + cfg.group_bases.n <= SYNC_MAX_BASES, "%zu bases",
	            cfg.user_bases.n + cfg.group_bases.n);
	sync_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_table(text);
	fuzz_sync(text);
	free(text);
	fuzz_idp_file(data, size);
	return 0;
}
