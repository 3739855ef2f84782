/*
 * secretbox_test: key files (good, missing, open to others, malformed, the
 * documented shell recipe), sealing and opening (wrong key, wrong context,
 * altered values), and the key file's rotation and pruning.
 */
#define _GNU_SOURCE
#include "secretbox.h"

#include "err.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tmp;
static char path[600];

static void setup(void)
{
	tmp = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/secret.key", tmp);
}

static void teardown(void)
{
	tu_rmtree(tmp);
}

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" /* bytes 0..31 */
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8" /* bytes 32..63 */

static struct secretbox *load_text(const char *text, struct err *err)
{
	ck_assert_int_eq(tu_write_file(path, text, 0600), 0);
	return secretbox_load(path, err);
}

START_TEST(seal_and_open)
{
	struct err err = {0};
	struct secretbox *sb = load_text("# test\n\nka " KEY_A "\n  kb\t" KEY_B "  \n", &err);
	char sealed[512], out[64];
	char kid[SECRETBOX_KID_MAX];
	int n;

	ck_assert_msg(sb != NULL, "%s", err.msg);
	ck_assert_int_eq(secretbox_nkeys(sb), 2);
	ck_assert_str_eq(secretbox_active_kid(sb), "ka");
	ck_assert_str_eq(secretbox_kid(sb, 1), "kb");
	ck_assert(secretbox_kid(sb, 2) == NULL);
	n = secretbox_seal(sb, "idp/totp/t/u", "top secret", 10, sealed, sizeof(sealed), &err);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(sealed), (size_t)n);
	ck_assert(strncmp(sealed, "sb1.ka.", 7) == 0);
	ck_assert(strstr(sealed, "top secret") == NULL);
	ck_assert_int_eq(secretbox_sealed_kid(sealed, kid), 0);
	ck_assert_str_eq(kid, "ka");
	ck_assert_int_eq(secretbox_open(sb, "idp/totp/t/u", sealed, out, sizeof(out), &err), 10);
	ck_assert(memcmp(out, "top secret", 10) == 0);
	/* two seals of one secret differ (fresh nonce) */
	{
		char again[512];
		ck_assert_int_gt(secretbox_seal(sb, "idp/totp/t/u", "top secret", 10, again,
		                                sizeof(again), &err),
		                 0);
		ck_assert_str_ne(again, sealed);
	}
	/* another context: moved to another user's row, it does not open */
	ck_assert_int_eq(secretbox_open(sb, "idp/totp/t/v", sealed, out, sizeof(out), &err),
	                 ERR_DENIED);
	ck_assert(strstr(err.msg, "does not open") != NULL);
	/* one character changed anywhere after the header: refused */
	for (size_t i = 7; i < strlen(sealed); i++) {
		char bent[512];

		memcpy(bent, sealed, sizeof(bent));
		bent[i] = bent[i] == 'A' ? 'B' : 'A';
		n = secretbox_open(sb, "idp/totp/t/u", bent, out, sizeof(out), &err);
		ck_assert_msg(n == ERR_DENIED || n == ERR_INVALID, "altered at %zu: %d", i, n);
	}
	/* the key id is authenticated too: relabelled to another key, refused */
	{
		char relabel[512];
		snprintf(relabel, sizeof(relabel), "sb1.kb.%s", sealed + 7);
		ck_assert_int_eq(
		        secretbox_open(sb, "idp/totp/t/u", relabel, out, sizeof(out), &err),
		        ERR_DENIED);
	}
	/* a key id the file lacks */
	{
		char other[512];
		snprintf(other, sizeof(other), "sb1.kz.%s", sealed + 7);
		ck_assert_int_eq(secretbox_open(sb, "idp/totp/t/u", other, out, sizeof(out), &err),
		                 ERR_NOT_FOUND);
		ck_assert(strstr(err.msg, "'kz'") != NULL);
	}
	ck_assert_int_eq(secretbox_open(sb, "", "not sealed", out, sizeof(out), &err), ERR_INVALID);
	ck_assert_int_eq(secretbox_open(sb, "", "sb1.ka.", out, sizeof(out), &err), ERR_INVALID);
	ck_assert_int_eq(secretbox_open(sb, "", "sb1.ka.!!!!", out, sizeof(out), &err),
	                 ERR_INVALID);
	ck_assert_int_eq(secretbox_open(sb, "", "sb1..AAAA", out, sizeof(out), &err), ERR_INVALID);
	ck_assert_int_eq(secretbox_open(sb, "idp/totp/t/u", sealed, out, 5, &err), ERR_LIMIT);
	ck_assert_int_eq(secretbox_seal(sb, "", "x", 1, sealed, 20, &err), ERR_LIMIT);
	secretbox_free(sb);

	/* the same file with the other key first: old values still open */
	sb = load_text("kb " KEY_B "\nka " KEY_A "\n", &err);
	ck_assert_msg(sb != NULL, "%s", err.msg);
	n = secretbox_seal(sb, "c", "", 0, sealed, sizeof(sealed), &err);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(secretbox_open(sb, "c", sealed, out, sizeof(out), &err), 0);
	secretbox_free(sb);
	/* a wrong key under the right id: refused, not garbage */
	sb = load_text("kb " KEY_A "\n", &err);
	ck_assert_int_eq(secretbox_open(sb, "c", sealed, out, sizeof(out), &err), ERR_DENIED);
	secretbox_free(sb);
}
END_TEST

START_TEST(signing_key_sized_secret)
{
	struct err err = {0};
	struct secretbox *sb = load_text("ka " KEY_A "\n", &err);
	size_t n = 3300, cap = secretbox_sealed_cap(n);
	char *pem = malloc(n), *sealed = malloc(cap), *out = malloc(n);
	char ctx[SECRETBOX_CONTEXT_MAX];

	for (size_t i = 0; i < n; i++)
		pem[i] = (char)('A' + i % 26);
	ck_assert_int_eq(secretbox_context(ctx, sizeof(ctx), "signing_key", "tenant", "kid1"), 0);
	ck_assert_str_eq(ctx, "idp/signing_key/tenant/kid1");
	ck_assert_int_gt(secretbox_seal(sb, ctx, pem, n, sealed, cap, &err), 0);
	ck_assert_int_eq(secretbox_open(sb, ctx, sealed, out, n, &err), (int)n);
	ck_assert(memcmp(out, pem, n) == 0);
	ck_assert_int_eq(secretbox_seal(sb, ctx, pem, SECRETBOX_MAX_PLAIN + 1, sealed, cap, &err),
	                 ERR_LIMIT);
	ck_assert_int_eq(secretbox_context(ctx, 10, "signing_key", "tenant", "kid1"), ERR_LIMIT);
	free(pem);
	free(sealed);
	free(out);
	secretbox_free(sb);
}
END_TEST

START_TEST(bad_key_files)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
	        {"", "no key"},
	        {"# only a comment\n", "no key"},
	        {"ka\n", "one key per line"},
	        {"ka " KEY_A " extra\n", "one key per line"},
	        {"k.a " KEY_A "\n", "key id"},
	        {"ka " KEY_A "\nka " KEY_B "\n", "given twice"},
	        {"ka AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", "43 characters"},
	        {"ka AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg\n", "32 bytes"},
	        {"ka AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ\n", "32 bytes"},
	        {"ka AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+\n", "32 bytes"},
	        {"kaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " KEY_A "\n", "key id"},
	};
	struct err err = {0};
	char line[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(load_text(bad[i].text, &err) == NULL, "accepted %s", bad[i].text);
		ck_assert_int_ne(err.code, 0);
		ck_assert_msg(strstr(err.msg, bad[i].why) != NULL, "'%s' lacks '%s'", err.msg,
		              bad[i].why);
		ck_assert(strstr(err.msg, path) != NULL); /* names the file */
	}
	/* a line number for the line at fault */
	ck_assert(load_text("# c\nka " KEY_A "\nbad\n", &err) == NULL);
	ck_assert(strstr(err.msg, ":3:") != NULL);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	ck_assert(load_text(line, &err) == NULL);
	ck_assert(strstr(err.msg, "too long") != NULL);
	/* missing, open to others, not a file, nothing configured */
	unlink(path);
	ck_assert(secretbox_load(path, &err) == NULL);
	ck_assert_int_eq(err.code, ERR_NOT_FOUND);
	ck_assert(strstr(err.msg, "does not exist") != NULL);
	ck_assert(strstr(err.msg, "idpctl mfa keygen") != NULL);
	ck_assert_int_eq(tu_write_file(path, "ka " KEY_A "\n", 0640), 0);
	ck_assert(secretbox_load(path, &err) == NULL);
	ck_assert_int_eq(err.code, ERR_DENIED);
	ck_assert(strstr(err.msg, "chmod 600") != NULL);
	ck_assert(secretbox_load(tmp, &err) == NULL);
	ck_assert(secretbox_load(NULL, &err) == NULL);
	ck_assert(strstr(err.msg, "key_file") != NULL);
	ck_assert(secretbox_load("", &err) == NULL);
}
END_TEST

/* The recipe documented in conf/idp.conf makes a file we accept. */
START_TEST(shell_recipe)
{
	char cmd[1400];
	struct err err = {0};
	struct secretbox *sb;
	struct stat st;

	snprintf(cmd, sizeof(cmd),
	         "(umask 077; printf 'k1 %%s\\n' \"$(openssl rand -base64 32 | "
	         "tr '+/' '-_' | tr -d '=')\" >'%s')",
	         path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	sb = secretbox_load(path, &err);
	ck_assert_msg(sb != NULL, "%s", err.msg);
	ck_assert_str_eq(secretbox_active_kid(sb), "k1");
	secretbox_free(sb);
}
END_TEST

static int keep_only_kb(void *ctx, const char *kid)
{
	(void)ctx;
	return strcmp(kid, "kb") == 0;
}

START_TEST(create_add_prune)
{
	char kid[SECRETBOX_KID_MAX], kid2[SECRETBOX_KID_MAX], sealed[256], out[16];
	struct err err = {0};
	struct secretbox *sb;
	struct stat st;
	int dropped = -1;

	ck_assert_int_eq(secretbox_file_create(path, kid, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(secretbox_file_create(path, kid, &err), ERR_EXISTS);
	sb = secretbox_load(path, &err);
	ck_assert_msg(sb != NULL, "%s", err.msg);
	ck_assert_str_eq(secretbox_active_kid(sb), kid);
	ck_assert_int_gt(secretbox_seal(sb, "c", "secret", 6, sealed, sizeof(sealed), &err), 0);
	secretbox_free(sb);

	ck_assert_int_eq(secretbox_file_add_key(path, kid2, &err), 0);
	ck_assert_str_ne(kid, kid2);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	sb = secretbox_load(path, &err);
	ck_assert_int_eq(secretbox_nkeys(sb), 2);
	ck_assert_str_eq(secretbox_active_kid(sb), kid2);
	ck_assert_str_eq(secretbox_kid(sb, 1), kid);
	/* the old value opens under the retired key */
	ck_assert_int_eq(secretbox_open(sb, "c", sealed, out, sizeof(out), &err), 6);
	secretbox_free(sb);

	/* prune keeps the active key whatever keep() says, drops the rest */
	ck_assert_int_eq(secretbox_file_prune(path, keep_only_kb, NULL, &dropped, &err), 0);
	ck_assert_int_eq(dropped, 1);
	sb = secretbox_load(path, &err);
	ck_assert_int_eq(secretbox_nkeys(sb), 1);
	ck_assert_str_eq(secretbox_active_kid(sb), kid2);
	ck_assert_int_eq(secretbox_open(sb, "c", sealed, out, sizeof(out), &err), ERR_NOT_FOUND);
	secretbox_free(sb);
	/* no temporary files left beside it */
	{
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", tmp);
		ck_assert_int_eq(system(cmd), 0);
	}
	/* a key file open to others is not rotated */
	chmod(path, 0644);
	ck_assert_int_eq(secretbox_file_add_key(path, kid2, &err), ERR_DENIED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mfa-secretbox");
	TCase *tc = tcase_create("secretbox");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, seal_and_open);
	tcase_add_test(tc, signing_key_sized_secret);
	tcase_add_test(tc, bad_key_files);
	tcase_add_test(tc, shell_recipe);
	tcase_add_test(tc, create_add_prune);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
