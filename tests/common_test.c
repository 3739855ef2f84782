/*
 * common_test: base64url, UTF-8, randomness, secrets and the config loader.
 */
#include "b64.h"
#include "config.h"
#include "err.h"
#include "rand.h"
#include "secret.h"
#include "testutil.h"
#include "utf8.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(b64url_rfc4648_vectors)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	char out[32], back[32];

	for (size_t i = 0; i < 7; i++) {
		ck_assert_int_eq(b64url_encode(plain[i], strlen(plain[i]), out, sizeof(out)),
				 (ssize_t)strlen(enc[i]));
		ck_assert_str_eq(out, enc[i]);
		ck_assert_int_eq(b64url_decode(enc[i], strlen(enc[i]), back, sizeof(back)),
				 (ssize_t)strlen(plain[i]));
		ck_assert_int_eq(memcmp(back, plain[i], strlen(plain[i])), 0);
	}
}
END_TEST

START_TEST(b64url_rejects_bad_input)
{
	char out[16];

	ck_assert_int_eq(b64url_decode("Zg==", 4, out, sizeof(out)), -1);   /* padding */
	ck_assert_int_eq(b64url_decode("Z+8", 3, out, sizeof(out)), -1);    /* std alphabet */
	ck_assert_int_eq(b64url_decode("Z", 1, out, sizeof(out)), -1);      /* impossible length */
	ck_assert_int_eq(b64url_decode("Zh", 2, out, sizeof(out)), -1);     /* non-zero tail bits */
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, out, 5), -1);         /* no room */
	ck_assert_int_eq(b64url_encode("foobar", 6, out, 8), -1);           /* no room for NUL */
	/* all 256 byte values survive a round trip */
	unsigned char all[256], back[256];
	char enc[400];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	ck_assert_int_gt(b64url_encode(all, 256, enc, sizeof(enc)), 0);
	ck_assert_int_eq(b64url_decode(enc, strlen(enc), back, sizeof(back)), 256);
	ck_assert_int_eq(memcmp(all, back, 256), 0);
}
END_TEST

START_TEST(utf8_validation)
{
	ck_assert(utf8_valid("plain ascii", 11));
	ck_assert(utf8_valid("\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	ck_assert(!utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	ck_assert(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	ck_assert(!utf8_valid("\xe2\x82", 2));         /* truncated */
	ck_assert(!utf8_valid("a\0b", 3));             /* NUL */
	ck_assert(!utf8_valid("\xff", 1));
	ck_assert(utf8_printable("Zoë Ångström"));
	ck_assert(!utf8_printable("line\nbreak"));
	ck_assert(!utf8_printable("del\x7f"));
	ck_assert(!utf8_printable("c1\xc2\x85"));
	/*
	 * Long ASCII runs go eight bytes at a time: a byte that does not
	 * belong, at any offset of a word, is still found, and one that does
	 * is still let through.
	 */
	for (int at = 0; at < 24; at++) {
		static const unsigned char odd[] = {0x01, 0x09, 0x1f, 0x7f, 0x80, 0xc3, 0xff};
		char s[25];
		memset(s, 'a', 24);
		s[24] = '\0';
		ck_assert(utf8_valid(s, 24) && utf8_printable(s));
		for (size_t k = 0; k < sizeof(odd); k++) {
			s[at] = (char)odd[k];
			ck_assert_msg(!utf8_printable(s), "byte %#x at %d", odd[k], at);
			ck_assert_msg(utf8_valid(s, 24) == (odd[k] < 0x80), "byte %#x at %d", odd[k],
				      at);
		}
		s[at] = ' ';
		ck_assert(utf8_printable(s));
		s[at] = '~';
		ck_assert(utf8_printable(s));
		s[at] = '\0';
		ck_assert(!utf8_valid(s, 24));
	}
}
END_TEST

START_TEST(utf8_cutting)
{
	const char *euro = "\xe2\x82\xac\xe2\x82\xac"; /* two 3-byte characters */
	char out[16];

	ck_assert_uint_eq(utf8_cut("abc", 10), 3);
	ck_assert_uint_eq(utf8_cut("abc", 2), 2);
	ck_assert_uint_eq(utf8_cut(euro, 6), 6);
	for (size_t max = 0; max < 6; max++) {
		size_t n = utf8_cut(euro, max);
		ck_assert_uint_eq(n, max / 3 * 3);
		snprintf(out, sizeof(out), "%.*s", (int)n, euro);
		ck_assert(utf8_valid(out, strlen(out)));
	}
	ck_assert_uint_eq(utf8_cut("", 5), 0);
}
END_TEST

START_TEST(utf8_folding)
{
	char out[64];

	ck_assert_int_ge(utf8_fold("Alice@Example.COM", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "alice@example.com");
	ck_assert_int_ge(utf8_fold("\xc3\x84RGER@x", out, sizeof(out)), 0); /* ÄRGER */
	ck_assert_str_eq(out, "\xc3\xa4rger@x");
	ck_assert_int_ge(utf8_fold("\xd0\x96", out, sizeof(out)), 0); /* Ж -> ж */
	ck_assert_str_eq(out, "\xd0\xb6");
	ck_assert_int_eq(utf8_fold("\xff", out, sizeof(out)), -1);
	ck_assert_int_eq(utf8_fold("toolong", out, 4), -1);
}
END_TEST

START_TEST(rand_uuid_and_token)
{
	char a[RAND_UUID_LEN], b[RAND_UUID_LEN], tok[64];

	ck_assert_int_eq(rand_uuid(a), 0);
	ck_assert_int_eq(rand_uuid(b), 0);
	ck_assert_uint_eq(strlen(a), 36);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(a[14], '4');
	ck_assert(strchr("89ab", a[19]) != NULL);
	/* version 7: the time comes first, so later ids sort after earlier ones */
	char v7a[RAND_UUID_LEN], v7b[RAND_UUID_LEN];
	ck_assert_int_eq(rand_uuid7(v7a), 0);
	usleep(2000);
	ck_assert_int_eq(rand_uuid7(v7b), 0);
	ck_assert_int_eq(v7a[14], '7');
	ck_assert(strchr("89ab", v7a[19]) != NULL);
	ck_assert_int_lt(strcmp(v7a, v7b), 0);
	ck_assert_int_eq(rand_token(tok, sizeof(tok), 32), 0);
	ck_assert_uint_eq(strlen(tok), 43);
	ck_assert_int_ne(rand_token(tok, 10, 32), 0);
}
END_TEST

START_TEST(secret_compare_and_files)
{
	const char *dir = tu_tmpdir();
	char path[600], buf[64], hex[SECRET_SHA256_HEX];
	struct err err = {0};

	ck_assert(secret_streq("abc", "abc"));
	ck_assert(!secret_streq("abc", "abd"));
	ck_assert(!secret_streq("abc", "abcd"));
	ck_assert(!secret_streq("", "a"));
	secret_sha256_hex("abc", hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	snprintf(path, sizeof(path), "%s/pw", dir);
	ck_assert_int_eq(tu_write_file(path, "s3cret\n", 0600), 0);
	ck_assert_int_eq(secret_read_file(path, buf, sizeof(buf), &err), 6);
	ck_assert_str_eq(buf, "s3cret");
	ck_assert_int_eq(tu_write_file(path, "s3cret\n", 0644), 0);
	ck_assert_int_eq(secret_read_file(path, buf, sizeof(buf), &err), ERR_DENIED);
	ck_assert_ptr_nonnull(strstr(err.msg, "chmod 600"));
	ck_assert_int_eq(tu_write_file(path, "0123456789012345678901234567890123456789", 0600), 0);
	ck_assert_int_eq(secret_read_file(path, buf, 16, &err), ERR_LIMIT);
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(secret_read_file(path, buf, sizeof(buf), &err), ERR_NOT_FOUND);
	tu_rmtree(dir);
}
END_TEST

/* ---- config ---- */

struct test_cfg {
	char *name;
	long long port;
	int flag;
	long long ttl;
	long long size;
	int mode;
	struct cfg_list base;
	char *opt;
};

static const char *const modes[] = {"persist", "poll", NULL};

static int check_no_x(const char *v, char *why, size_t n)
{
	if (strchr(v, 'x') != NULL) {
		snprintf(why, n, "must not contain x");
		return -1;
	}
	return 0;
}

#define TF(f) offsetof(struct test_cfg, f)
static const struct cfg_key test_keys[] = {
	{"main", "name", CFG_STRING, TF(name), NULL, CFG_REQUIRED, 0, 0, NULL, check_no_x},
	{"main", "port", CFG_INT, TF(port), "8443", 0, 1, 65535, NULL, NULL},
	{"main", "flag", CFG_BOOL, TF(flag), "false", 0, 0, 0, NULL, NULL},
	{"main", "ttl", CFG_DURATION, TF(ttl), "5m", 0, 1, 86400, NULL, NULL},
	{"main", "size", CFG_SIZE, TF(size), "1M", 0, 0, 1LL << 40, NULL, NULL},
	{"sync", "mode", CFG_ENUM, TF(mode), "persist", 0, 0, 0, modes, NULL},
	{"sync", "base", CFG_LIST, TF(base), NULL, 0, 0, 0, NULL, NULL},
	{"sync", "opt", CFG_STRING, TF(opt), NULL, 0, 0, 0, NULL, NULL},
	CFG_END,
};

static int load(const char *text, struct test_cfg *c, struct err *err)
{
	memset(c, 0, sizeof(*c));
	return cfg_load_string("t.conf", text, test_keys, c, err);
}

START_TEST(config_good_file_and_defaults)
{
	struct test_cfg c;
	struct err err = {0};

	ck_assert_int_eq(load("; comment\n# another\n[main]\nname = demo\nflag = yes\n"
			      "ttl = 2h\nsize = 64k\n[sync]\nmode = POLL\nbase = ou=a,dc=x\n"
			      "base = ou=b,dc=x\nopt = (&(objectClass=person)\n"
			      "   (uid=*))\n",
			      &c, &err),
			 0);
	ck_assert_str_eq(c.name, "demo");
	ck_assert_int_eq(c.port, 8443);
	ck_assert_int_eq(c.flag, 1);
	ck_assert_int_eq(c.ttl, 7200);
	ck_assert_int_eq(c.size, 65536);
	ck_assert_int_eq(c.mode, 1);
	ck_assert_uint_eq(c.base.n, 2);
	ck_assert_str_eq(c.base.v[1], "ou=b,dc=x");
	ck_assert_str_eq(c.opt, "(&(objectClass=person) (uid=*))");
	cfg_free(test_keys, &c);
	ck_assert_ptr_null(c.name);
}
END_TEST

/* Each bad file must fail with a message naming what and where. */
START_TEST(config_errors_are_clear)
{
	static const struct {
		const char *text, *expect;
	} cases[] = {
		{"[main]\nport = 1\n", "t.conf: [main] name: required key missing"},
		{"[main]\nname = a\nprot = 1\n", "t.conf:3: [main] prot: unknown key"},
		{"[mian]\nname = a\n", "t.conf:1: unknown section [mian]"},
		{"[main]\nname = a\nport = eighty\n", "t.conf:3: [main] port: 'eighty' is not an integer"},
		{"[main]\nname = a\nport = 70000\n", "t.conf:3: [main] port: 70000 is out of range 1..65535"},
		{"[main]\nname = a\nport = 99999999999999999999999\n", "is not an integer"},
		{"[main]\nname = a\nport = -1\n", "out of range"},
		{"[main]\nname = a\nflag = maybe\n", "t.conf:3: [main] flag: 'maybe' is not a boolean"},
		{"[main]\nname = a\nttl = 5 weeks\n", "is not a duration"},
		{"[main]\nname = a\nttl = 99999999999999999d\n", "is not a duration"},
		{"[main]\nname = a\nsize = 12Q\n", "is not a size"},
		{"[main]\nname = a\n[sync]\nmode = push\n", "t.conf:4: [sync] mode: 'push' is not one of: persist, poll"},
		{"[main]\nname = a\nname = b\n", "t.conf:3: [main] name: set twice"},
		{"[main]\nname = box\n", "t.conf:2: [main] name: must not contain x"},
		{"[main]\nname = a\nport =\n", "t.conf:3: [main] port: empty value"},
		{"[main]\nname = a\njust some words\n", "t.conf:3: syntax error"},
		{"[main\nname = a\n", "t.conf:2: 'name' is outside any [section]"},
		{"\x01\x02\x03garbage\xff\xfe\n", "syntax error"},
	};
	struct test_cfg c;
	struct err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_lt(load(cases[i].text, &c, &err), 0);
		if (strstr(err.msg, cases[i].expect) == NULL)
			ck_abort_msg("case %zu: got '%s', want '%s'", i, err.msg, cases[i].expect);
		ck_assert_ptr_null(c.name); /* nothing left allocated */
	}
}
END_TEST

START_TEST(config_long_lines_and_huge_files)
{
	char *text = malloc(CFG_MAX_FILE + 100);
	struct test_cfg c;
	struct err err = {0};

	/* A line longer than the limit is refused, not split into two settings. */
	strcpy(text, "[main]\nname = ");
	memset(text + strlen(text), 'a', 300);
	strcpy(text + 14 + 300, "=b\n");
	ck_assert_int_lt(load(text, &c, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "t.conf:2: line longer than"));

	/* A file over the size limit is refused before parsing. */
	memset(text, ';', CFG_MAX_FILE + 10);
	text[CFG_MAX_FILE + 10] = '\0';
	ck_assert_int_eq(load(text, &c, &err), ERR_LIMIT);
	free(text);
}
END_TEST

START_TEST(config_file_checks)
{
	const char *dir = tu_tmpdir();
	char path[600];
	struct test_cfg c;
	struct err err = {0};

	snprintf(path, sizeof(path), "%s/a.conf", dir);
	ck_assert_int_eq(cfg_load(path, test_keys, &c, &err), ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
	ck_assert_int_eq(tu_write_file(path, "[main]\nname = a\n", 0666), 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(cfg_load(path, test_keys, &c, &err), ERR_DENIED);
	ck_assert_int_eq(tu_write_file(path, "[main]\nname = a\n", 0644), 0);
	ck_assert_int_eq(cfg_load(path, test_keys, &c, &err), 0);
	cfg_free(test_keys, &c);
	/* NUL bytes: not a text file */
	FILE *f = fopen(path, "wb");
	fwrite("[main]\nname = a\0b\n", 1, 18, f);
	fclose(f);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(cfg_load(path, test_keys, &c, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "NUL"));
	ck_assert_int_eq(cfg_load(dir, test_keys, &c, &err), ERR_INVALID);
	tu_rmtree(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("all");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, b64url_rfc4648_vectors);
	tcase_add_test(tc, b64url_rejects_bad_input);
	tcase_add_test(tc, utf8_validation);
	tcase_add_test(tc, utf8_folding);
	tcase_add_test(tc, utf8_cutting);
	tcase_add_test(tc, rand_uuid_and_token);
	tcase_add_test(tc, secret_compare_and_files);
	tcase_add_test(tc, config_good_file_and_defaults);
	tcase_add_test(tc, config_errors_are_clear);
	tcase_add_test(tc, config_long_lines_and_huge_files);
	tcase_add_test(tc, config_file_checks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
