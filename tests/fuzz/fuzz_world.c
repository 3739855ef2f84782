/*
 * fuzz_world: the idp in one process for the request harnesses (see
 * fuzz_world.h).  Everything here is set-up and bookkeeping; the code under
 * test is the idp's own, reached through http_serve_memory() and
 * idp_handle() as the server reaches it.
 */
#define _GNU_SOURCE
#include "fuzz_world.h"

#include "fuzz.h"

#include "authz.h"
#include "b64.h"
#include "keys.h"
#include "log.h"
#include "mfa.h"
#include "pages.h"
#include "rand.h"
#include "rbac_store.h"
#include "risk.h"
#include "secret.h"
#include "secretbox.h"
#include "testutil.h"

#include <argon2.h>
#include <jansson.h>
#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FW_PASSWORD "Correct-Horse-1"
#define FW_PUBLIC   "http://127.0.0.1:8443"
#define FW_REDIRECT "http://127.0.0.1:9000/cb"
/* how the store writes a hash with the world's argon2 settings (8 KiB, 1 pass) */
#define FW_HASH_PREFIX  "$argon2id$v=19$m=8,t=1,p=1$"
#define FW_REDIRECT_ENC "http%3A%2F%2F127.0.0.1%3A9000%2Fcb"

static struct fuzz_world *fw_world;

static int fw_has_hash(const char *text, size_t len);

__attribute__((noreturn)) static void fw_die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz world: %s: %s\n", what, why);
	abort();
}

static void fw_cleanup(void)
{
	if (fw_world != NULL && fw_world->root[0] != '\0' && getenv("FUZZ_KEEP_WORLD") == NULL)
		tu_rmtree(fw_world->root);
}

static struct dir *fw_dir(struct fuzz_world *w)
{
	struct err err = {0};
	struct dir *d = idp_dir(&w->idp, &err);

	if (d == NULL)
		fw_die("store", err.msg);
	return d;
}

/* A request without the oracle (for minting credentials). */
static void fw_raw(struct fuzz_world *w, const char *method, const char *uri, const char *cookie,
                   const char *authz, const char *form, struct http_resp *resp)
{
	struct http_param h[4];
	size_t n = 0;

	if (form != NULL) {
		h[n].name = "Content-Type";
		h[n++].value = "application/x-www-form-urlencoded";
	}
	if (cookie != NULL) {
		h[n].name = "Cookie";
		h[n++].value = (char *)cookie;
	}
	if (authz != NULL) {
		h[n].name = "Authorization";
		h[n++].value = (char *)authz;
	}
	h[n].name = "User-Agent";
	h[n++].value = "fuzz-world/1";
	http_serve_memory(idp_handle, &w->idp, method, uri, h, n, form != NULL ? form : "",
	                  form != NULL ? strlen(form) : 0, "198.51.100.7", resp);
}

/* The value of cookie name from the response's Set-Cookie headers into out; 0 or -1. */
static int fw_set_cookie(const struct http_resp *resp, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);

	for (int i = 0; i < resp->nheaders; i++) {
		const char *v = resp->headers[i].value;
		if (strcasecmp(resp->headers[i].name, "Set-Cookie") != 0 ||
		    strncmp(v, name, n) != 0 || v[n] != '=')
			continue;
		v += n + 1;
		n = strcspn(v, ";");
		if (n == 0 || n >= cap)
			return -1;
		memcpy(out, v, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

static const char *fw_header(const struct http_resp *resp, const char *name)
{
	for (int i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

/* jti and grant_id of a JWT, read without verifying (the store says if it is live). */
static void fw_jwt_ids(const char *tok, char *jti, size_t cap)
{
	const char *a = strchr(tok, '.'), *b = a != NULL ? strchr(a + 1, '.') : NULL;
	char raw[4096];
	ssize_t n;
	json_t *c;

	jti[0] = '\0';
	if (b == NULL || (n = b64url_decode(a + 1, (size_t)(b - a - 1), raw, sizeof(raw))) < 0)
		return;
	if ((c = json_loadb(raw, (size_t)n, 0, NULL)) != NULL) {
		snprintf(jti, cap, "%s",
		         json_string_value(json_object_get(c, "jti")) != NULL
		                 ? json_string_value(json_object_get(c, "jti"))
		                 : "");
		json_decref(c);
	}
}

/* The form token the idp binds to a CSRF cookie (as sso_csrf_token() makes it). */
static void fw_csrf_token(struct fuzz_world *w, const char *cookie, char out[64])
{
	struct idp_req r;

	memset(&r, 0, sizeof(r));
	r.idp = &w->idp;
	r.tenant = w->tenant;
	idp_csrf_token(&r, cookie, out);
}

static void fw_mint_pkce(struct fuzz_world *w)
{
	uint8_t digest[SECRET_SHA256_LEN];

	if (rand_token(w->verifier, sizeof(w->verifier), 32) != 0)
		fw_die("pkce", "no randomness");
	secret_sha256(w->verifier, strlen(w->verifier), digest);
	if (b64url_encode(digest, sizeof(digest), w->challenge, sizeof(w->challenge)) < 0)
		fw_die("pkce", "encode");
}

static void fw_authorize_uri(struct fuzz_world *w, const char *client, char *out, size_t cap)
{
	snprintf(out, cap,
	         "/acme/oauth2/authorize?client_id=%s&redirect_uri=%s&response_type=code"
	         "&scope=openid%%20profile%%20offline_access&state=fw&nonce=n1"
	         "&code_challenge=%s&code_challenge_method=S256",
	         client, FW_REDIRECT_ENC, w->challenge);
}

/* A CSRF cookie and a session for alice, through the sign-in page. */
static void fw_mint_session(struct fuzz_world *w)
{
	struct http_resp resp;
	char uri[1024], form[2048], cookie[256];

	fw_mint_pkce(w);
	fw_authorize_uri(w, w->web_client, uri, sizeof(uri));
	fw_raw(w, "GET", uri, NULL, NULL, NULL, &resp);
	if (fw_set_cookie(&resp, "idp_csrf", w->csrf, sizeof(w->csrf)) != 0)
		fw_die("sign-in page", "no CSRF cookie");
	http_resp_free(&resp);
	fw_csrf_token(w, w->csrf, w->csrf_token);
	snprintf(form, sizeof(form),
	         "client_id=%s&redirect_uri=%s&response_type=code&scope=openid+profile+"
	         "offline_access&state=fw&nonce=n1&code_challenge=%s&code_challenge_method=S256"
	         "&csrf=%s&username=alice%%40acme.test&password=" FW_PASSWORD,
	         w->web_client, FW_REDIRECT_ENC, w->challenge, w->csrf_token);
	snprintf(cookie, sizeof(cookie), "idp_csrf=%s", w->csrf);
	fw_raw(w, "POST", "/acme/login", cookie, NULL, form, &resp);
	if (fw_set_cookie(&resp, "idp_session", w->session, sizeof(w->session)) != 0)
		fw_die("sign-in", "no session cookie (status and body follow)");
	http_resp_free(&resp);
}

/* Put alice back as the world made her, if fuzzing disabled, renamed or deleted her. */
static void fw_restore_alice(struct fuzz_world *w)
{
	struct dir *d = fw_dir(w);
	struct dir_user u;
	struct err err = {0};

	if (dir_user_get(d, w->tenant.id, w->alice_id, &u, &err) != 0)
		return;
	if (u.deleted_at != 0)
		(void)dir_user_restore(d, w->tenant.id, w->alice_id, &err);
	snprintf(u.upn, sizeof(u.upn), "alice@acme.test");
	u.enabled = 1;
	u.mfa_required = 0;
	(void)dir_user_update(d, w->tenant.id, &u, &err);
	(void)dir_user_set_password(d, w->tenant.id, w->alice_id, FW_PASSWORD, &err);
	(void)dir_totp_delete(d, w->tenant.id, w->alice_id, &err);
}

static int fw_session_live(struct fuzz_world *w)
{
	char hash[SECRET_SHA256_HEX];
	struct dir_session s;
	struct err err = {0};

	if (w->session[0] == '\0')
		return 0;
	secret_sha256_hex(w->session, hash);
	return dir_session_get(fw_dir(w), w->tenant.id, hash, &s, &err) == 0 &&
	       s.last_seen_at + w->cfg.session_idle > time(NULL) && s.expires_at > time(NULL) &&
	       strcmp(s.user_id, w->alice_id) == 0;
}

static void fw_need_session(struct fuzz_world *w)
{
	if (fw_session_live(w))
		return;
	fw_restore_alice(w);
	fw_mint_session(w);
}

/* A fresh code for the web app from alice's session. */
static void fw_mint_code(struct fuzz_world *w)
{
	struct http_resp resp;
	char uri[1024], cookie[256];
	const char *loc, *c;
	size_t n;

	fw_need_session(w);
	fw_mint_pkce(w);
	fw_authorize_uri(w, w->web_client, uri, sizeof(uri));
	snprintf(cookie, sizeof(cookie), "idp_session=%s", w->session);
	fw_raw(w, "GET", uri, cookie, NULL, NULL, &resp);
	loc = fw_header(&resp, "Location");
	if (resp.status != 302 || loc == NULL || (c = strstr(loc, "?code=")) == NULL)
		fw_die("authorize", "no code in the redirect");
	c += 6;
	n = strcspn(c, "&");
	if (n >= sizeof(w->code))
		fw_die("authorize", "code too long");
	memcpy(w->code, c, n);
	w->code[n] = '\0';
	http_resp_free(&resp);
}

static void fw_basic(const char *id, const char *secret, char *out, size_t cap)
{
	char pair[256];
	size_t n = (size_t)snprintf(pair, sizeof(pair), "%s:%s", id, secret);
	char b64[400];
	static const char tbl[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	/* standard base64 with padding, as HTTP Basic wants it */
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)pair[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)pair[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)pair[i + 2];
		b64[o++] = tbl[v >> 18 & 63];
		b64[o++] = tbl[v >> 12 & 63];
		b64[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		b64[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	b64[o] = '\0';
	snprintf(out, cap, "Basic %s", b64);
}

/* Tokens from a fresh code: alice's access token and a refresh token. */
static void fw_mint_tokens(struct fuzz_world *w)
{
	struct http_resp resp;
	char form[1024], auth[512];
	json_t *doc;

	fw_mint_code(w);
	fw_basic(w->web_client, w->web_secret, auth, sizeof(auth));
	snprintf(form, sizeof(form),
	         "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s", w->code,
	         FW_REDIRECT_ENC, w->verifier);
	w->code[0] = '\0';
	fw_raw(w, "POST", "/acme/oauth2/token", NULL, auth, form, &resp);
	doc = json_loadb(resp.body.data != NULL ? resp.body.data : "", resp.body.len, 0, NULL);
	if (resp.status != 200 || json_string_value(json_object_get(doc, "access_token")) == NULL ||
	    json_string_value(json_object_get(doc, "refresh_token")) == NULL)
		fw_die("token", resp.body.data != NULL ? resp.body.data : "no body");
	snprintf(w->access_token, sizeof(w->access_token), "%s",
	         json_string_value(json_object_get(doc, "access_token")));
	snprintf(w->refresh, sizeof(w->refresh), "%s",
	         json_string_value(json_object_get(doc, "refresh_token")));
	fw_jwt_ids(w->access_token, w->access_jti, sizeof(w->access_jti));
	json_decref(doc);
	http_resp_free(&resp);
}

static void fw_mint_admin(struct fuzz_world *w)
{
	struct http_resp resp;
	char auth[512];
	json_t *doc;

	fw_basic(w->svc_client, w->svc_secret, auth, sizeof(auth));
	fw_raw(w, "POST", "/acme/oauth2/token", NULL, auth,
	       "grant_type=client_credentials&resource=http%3A%2F%2F127.0.0.1%3A8443%2Facme%"
	       "2Fadmin",
	       &resp);
	doc = json_loadb(resp.body.data != NULL ? resp.body.data : "", resp.body.len, 0, NULL);
	if (resp.status != 200 || json_string_value(json_object_get(doc, "access_token")) == NULL)
		fw_die("admin token", resp.body.data != NULL ? resp.body.data : "no body");
	snprintf(w->admin_token, sizeof(w->admin_token), "%s",
	         json_string_value(json_object_get(doc, "access_token")));
	fw_jwt_ids(w->admin_token, w->admin_jti, sizeof(w->admin_jti));
	json_decref(doc);
	http_resp_free(&resp);
}

static int fw_token_live(struct fuzz_world *w, const char *jti)
{
	struct err err = {0};

	return jti[0] != '\0' && dir_token_revoked(fw_dir(w), w->tenant.id, jti, NULL, &err) == 0;
}

static int fw_refresh_live(struct fuzz_world *w)
{
	char hash[SECRET_SHA256_HEX];
	struct dir_refresh rt;
	struct err err = {0};

	if (w->refresh[0] == '\0')
		return 0;
	secret_sha256_hex(w->refresh, hash);
	return dir_refresh_get(fw_dir(w), w->tenant.id, hash, &rt, &err) == 0 &&
	       rt.rotated_at == 0 && rt.revoked_at == 0;
}

static void fw_app(struct dir *d, struct fuzz_world *w, const char *name, int confidential,
                   unsigned grants, int mfa, char client[DIR_ID_MAX], char secret[64],
                   char id_out[DIR_ID_MAX])
{
	struct dir_app a;
	struct err err = {0};

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.confidential = confidential;
	if (confidential) {
		if (rand_token(secret, 64, 32) != 0)
			fw_die("app", "no randomness");
		secret_sha256_hex(secret, a.secret_hash);
	}
	if (grants & DIR_GRANT_AUTHORIZATION_CODE) {
		snprintf(a.redirect_uris[0], sizeof(a.redirect_uris[0]), FW_REDIRECT);
		a.n_redirect_uris = 1;
	}
	a.grants = grants;
	a.mfa_required = mfa;
	snprintf(a.token_alg, sizeof(a.token_alg), "RS256");
	if (dir_app_create(d, w->tenant.id, &a, &err) != 0)
		fw_die("app", err.msg);
	snprintf(client, DIR_ID_MAX, "%s", a.client_id);
	if (id_out != NULL)
		snprintf(id_out, DIR_ID_MAX, "%s", a.id);
}

static void fw_user(struct dir *d, struct fuzz_world *w, const char *upn, char id[DIR_ID_MAX])
{
	struct dir_user u;
	struct err err = {0};

	memset(&u, 0, sizeof(u));
	snprintf(u.upn, sizeof(u.upn), "%s", upn);
	snprintf(u.display_name, sizeof(u.display_name), "User %s", upn);
	snprintf(u.mail, sizeof(u.mail), "%s", upn);
	u.enabled = 1;
	if (dir_user_create(d, w->tenant.id, &u, FW_PASSWORD, &err) != 0)
		fw_die("user", err.msg);
	snprintf(id, DIR_ID_MAX, "%s", u.id);
}

static void fw_assign(struct dir *d, struct fuzz_world *w, enum rbac_builtin role,
                      enum dir_principal_type type, const char *principal, char *id_out)
{
	struct rbac_actor who = {"fuzz-world", NULL};
	struct dir_role_assignment a;
	struct err err = {0};

	memset(&a, 0, sizeof(a));
	if (rbac_store_builtin_id(w->tenant.id, role, a.role_id) != 0)
		fw_die("assignment", "builtin id");
	a.principal_type = type;
	snprintf(a.principal_id, sizeof(a.principal_id), "%s", principal);
	snprintf(a.scope, sizeof(a.scope), "/");
	if (rbac_store_assignment_create(d, w->tenant.id, &who, &a, &err) != 0)
		fw_die("assignment", err.msg);
	if (id_out != NULL)
		snprintf(id_out, DIR_ID_MAX, "%s", a.id);
}

static void fw_objects(struct fuzz_world *w)
{
	struct dir *d = fw_dir(w);
	struct rbac_actor who = {"fuzz-world", NULL};
	struct dir_group g;
	struct dir_role role;
	struct err err = {0};
	char unused[64], svc_id[DIR_ID_MAX];

	memset(&w->tenant, 0, sizeof(w->tenant));
	snprintf(w->tenant.name, sizeof(w->tenant.name), "acme");
	snprintf(w->tenant.display_name, sizeof(w->tenant.display_name), "Acme");
	if (dir_tenant_create(d, &w->tenant, &err) != 0 ||
	    rbac_store_seed_builtins(d, w->tenant.id, &err) != 0)
		fw_die("tenant", err.msg);
	fw_user(d, w, "alice@acme.test", w->alice_id);
	fw_user(d, w, "bob@acme.test", w->bob_id);
	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "staff");
	if (dir_group_create(d, w->tenant.id, &g, &err) != 0 ||
	    dir_group_add_member(d, w->tenant.id, g.id, DIR_MEMBER_USER, w->alice_id, &err) != 0)
		fw_die("group", err.msg);
	snprintf(w->group_id, sizeof(w->group_id), "%s", g.id);
	fw_app(d, w, "Web", 1, DIR_GRANT_AUTHORIZATION_CODE | DIR_GRANT_REFRESH_TOKEN, 0,
	       w->web_client, w->web_secret, NULL);
	fw_app(d, w, "Public", 0, DIR_GRANT_AUTHORIZATION_CODE | DIR_GRANT_REFRESH_TOKEN, 0,
	       w->pub_client, unused, NULL);
	fw_app(d, w, "MFA", 1, DIR_GRANT_AUTHORIZATION_CODE, 1, w->mfa_client, unused, NULL);
	fw_app(d, w, "Admin Tool", 1, DIR_GRANT_CLIENT_CREDENTIALS, 0, w->svc_client, w->svc_secret,
	       svc_id);
	fw_app(d, w, "Victim", 1, DIR_GRANT_CLIENT_CREDENTIALS, 0, unused, unused,
	       w->victim_app_id);
	fw_assign(d, w, RBAC_BUILTIN_OWNER, DIR_PRINCIPAL_APP, svc_id, NULL);
	fw_assign(d, w, RBAC_BUILTIN_READER, DIR_PRINCIPAL_USER, w->bob_id, w->assignment_id);
	fw_assign(d, w, RBAC_BUILTIN_READER, DIR_PRINCIPAL_USER, w->alice_id, NULL);
	memset(&role, 0, sizeof(role));
	snprintf(role.name, sizeof(role.name), "Helpdesk");
	snprintf(role.actions, sizeof(role.actions),
	         "[\"idp/users/read\",\"idp/users/password/action\"]");
	if (rbac_store_role_create(d, w->tenant.id, &who, &role, &err) != 0)
		fw_die("role", err.msg);
	snprintf(w->role_id, sizeof(w->role_id), "%s", role.id);
	secret_wipe(unused, sizeof(unused));
}

static void fw_build(struct fuzz_world *w)
{
	const char *tmp = getenv("TMPDIR");
	char path[600], kid[SECRETBOX_KID_MAX], conf[2048];
	struct mfa_config mc;
	struct err err = {0};
	struct stat st;

	if (tmp == NULL || *tmp == '\0')
		tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
	snprintf(w->root, sizeof(w->root), "%s/fuzz-world-XXXXXX", tmp);
	if (mkdtemp(w->root) == NULL)
		fw_die("mkdtemp", w->root);
	atexit(fw_cleanup);
	snprintf(path, sizeof(path), "%s/keys.txt", w->root);
	if (secretbox_file_create(path, kid, &err) != 0)
		fw_die("key file", err.msg);
	snprintf(conf, sizeof(conf),
	         "[store]\npath = %s/store.db\n"
	         "[passwords]\nargon2_passes = 1\nargon2_memory = 8k\n"
	         "[http]\nlisten = 127.0.0.1\nport = 0\npublic_url = " FW_PUBLIC "\n"
	         "plain_http = true\nmax_body = 64k\n"
	         "[tokens]\naccess_token_lifetime = 1d\nid_token_lifetime = 1d\n"
	         "[session]\nidle_timeout = 30d\nmax_lifetime = 90d\n"
	         "[secrets]\nkey_file = %s\n"
	         "[log]\nlevel = error\n",
	         w->root, path);
	snprintf(path, sizeof(path), "%s/idp.conf", w->root);
	if (tu_write_file(path, conf, 0600) != 0)
		fw_die("config", path);
	if (idp_config_load(path, &w->cfg, &err) != 0)
		fw_die("config", err.msg);
	/* as idp_main.c does */
	log_init("fuzz", LOG_LEVEL_ERROR);
	pthread_mutex_init(&w->idp.dirs_lock, NULL);
	w->idp.cfg = &w->cfg;
	w->idp.dir_opts.path = w->cfg.store_path;
	w->idp.dir_opts.busy_timeout_ms = (int)w->cfg.busy_timeout_ms;
	w->idp.dir_opts.argon2.t_cost = (uint32_t)w->cfg.argon2_t_cost;
	w->idp.dir_opts.argon2.m_cost_kib = (uint32_t)w->cfg.argon2_m_cost_kib;
	w->idp.dir_opts.argon2.lanes = (uint32_t)w->cfg.argon2_lanes;
	if ((w->idp.box = secretbox_load(w->cfg.key_file, &err)) == NULL)
		fw_die("key file", err.msg);
	if (secretbox_derive(w->idp.box, "csrf", w->idp.csrf_key) != 0)
		fw_die("csrf key", "derive");
	mfa_config_from(&w->cfg, &mc);
	if ((w->idp.mfa = mfa_new(&mc, w->idp.box, &err)) == NULL)
		fw_die("mfa", err.msg);
	if ((w->idp.authz = authz_cache_new()) == NULL)
		fw_die("authz", "cache");
	{
		/* the sign-in risk engine; sign-in rows are written inline (no queue
		 * thread), so that one input's effects are all in the store when it ends */
		struct risk_config rc;
		risk_config_from(&w->cfg, &rc);
		if ((w->idp.risk = risk_new(&rc, &err)) == NULL)
			fw_die("risk", err.msg);
	}
	w->idp.keys = keys_new(w->idp.box, 10, w->cfg.access_ttl + 300);
	if (w->idp.keys == NULL)
		fw_die("keys", "new");
	pages_init();
	/* an export streams through a pipe that a fuzzed request may leave unread */
	signal(SIGPIPE, SIG_IGN);
	/* the hash oracle must recognise what the store writes (same library, same settings) */
	{
		char enc[160];
		if (argon2id_hash_encoded(1, 8, 1, "pw", 2, "0123456789abcdef", 16, 32, enc,
		                          sizeof(enc)) != ARGON2_OK ||
		    !fw_has_hash(enc, strlen(enc)))
			fw_die("hash oracle", "does not match the store's encoding");
	}
	fw_objects(w);
	fw_mint_session(w);
	fw_mint_tokens(w);
	fw_mint_admin(w);
}

struct fuzz_world *fuzz_world_get(void)
{
	if (fw_world == NULL) {
		fw_world = calloc(1, sizeof(*fw_world));
		if (fw_world == NULL)
			abort();
		fw_build(fw_world);
	}
	return fw_world;
}

static void fw_put(struct buf *b, const char *s)
{
	buf_puts(b, s);
}

char *fuzz_world_expand(struct fuzz_world *w, const char *text, size_t len, size_t *outlen)
{
	struct buf b;
	size_t i = 0;
	char *out;

	buf_init(&b);
	while (i < len) {
		const char *at = memchr(text + i, '@', len - i), *end;
		size_t n;
		char tmp[600];

		if (at == NULL) {
			buf_add(&b, text + i, len - i);
			break;
		}
		buf_add(&b, text + i, (size_t)(at - (text + i)));
		i = (size_t)(at - text);
		end = memchr(at + 1, '@', len - i - 1);
		n = end != NULL ? (size_t)(end - at - 1) : 0;
#define IS(name) (n == sizeof(name) - 1 && memcmp(at + 1, name, n) == 0)
		if (end == NULL || n == 0 || n > 16) {
			buf_add(&b, "@", 1);
			i++;
			continue;
		}
		if (IS("TENANT"))
			fw_put(&b, "acme");
		else if (IS("CLIENT"))
			fw_put(&b, w->web_client);
		else if (IS("SECRET"))
			fw_put(&b, w->web_secret);
		else if (IS("BASIC")) {
			fw_basic(w->web_client, w->web_secret, tmp, sizeof(tmp));
			fw_put(&b, tmp);
		} else if (IS("PUBLIC"))
			fw_put(&b, w->pub_client);
		else if (IS("MFACLIENT"))
			fw_put(&b, w->mfa_client);
		else if (IS("REDIRECT"))
			fw_put(&b, FW_REDIRECT_ENC);
		else if (IS("SESSION")) {
			fw_need_session(w);
			fw_put(&b, w->session);
		} else if (IS("CSRF"))
			fw_put(&b, w->csrf);
		else if (IS("CSRFTOKEN"))
			fw_put(&b, w->csrf_token);
		else if (IS("ADMIN")) {
			if (!fw_token_live(w, w->admin_jti))
				fw_mint_admin(w);
			fw_put(&b, w->admin_token);
		} else if (IS("ACCESS")) {
			if (!fw_token_live(w, w->access_jti))
				fw_mint_tokens(w);
			fw_put(&b, w->access_token);
		} else if (IS("REFRESH")) {
			if (!fw_refresh_live(w))
				fw_mint_tokens(w);
			fw_put(&b, w->refresh);
		} else if (IS("CODE")) {
			fw_mint_code(w);
			fw_put(&b, w->code);
		} else if (IS("VERIFIER"))
			fw_put(&b, w->verifier);
		else if (IS("CHALLENGE"))
			fw_put(&b, w->challenge);
		else if (IS("USER"))
			fw_put(&b, w->bob_id);
		else if (IS("GROUP"))
			fw_put(&b, w->group_id);
		else if (IS("APP"))
			fw_put(&b, w->victim_app_id);
		else if (IS("ROLE"))
			fw_put(&b, w->role_id);
		else if (IS("ASSIGNMENT"))
			fw_put(&b, w->assignment_id);
		else {
			/* not a placeholder: keep the '@' and look again after it */
			buf_add(&b, "@", 1);
			i++;
			continue;
		}
#undef IS
		i += n + 2;
	}
	buf_add(&b, "", 0);
	if (buf_failed(&b))
		abort();
	out = buf_take(&b, outlen);
	return out;
}

/* 1 if an absolute redirect target is the idp or a URI an app of the tenant registered. */
struct fw_uri_match {
	const char *loc;
	int found;
};

static int fw_uri_cb(void *ctx, const struct dir_app *a)
{
	struct fw_uri_match *m = ctx;

	for (int i = 0; i < a->n_redirect_uris; i++) {
		size_t n = strlen(a->redirect_uris[i]);
		if (strncmp(m->loc, a->redirect_uris[i], n) == 0 &&
		    (m->loc[n] == '\0' || m->loc[n] == '?'))
			m->found = 1;
	}
	return m->found;
}

static int fw_redirect_ok(struct fuzz_world *w, const char *loc)
{
	struct fw_uri_match m = {loc, 0};
	struct err err = {0};
	size_t n = strlen(FW_PUBLIC "/acme/");

	if (loc[0] == '/' && loc[1] != '/' && loc[1] != '\\')
		return 1; /* the idp's own pages */
	if (strncmp(loc, FW_PUBLIC "/acme/", n) == 0)
		return 1;
	if (strncmp(loc, FW_REDIRECT, strlen(FW_REDIRECT)) == 0 &&
	    (loc[strlen(FW_REDIRECT)] == '\0' || loc[strlen(FW_REDIRECT)] == '?'))
		return 1;
	(void)dir_app_list(fw_dir(w), w->tenant.id, fw_uri_cb, &m, &err);
	return m.found;
}

static void fw_drain(struct http_resp *resp)
{
	char chunk[4096];
	size_t got = 0;
	ssize_t n;

	if (resp->stream_fd < 0)
		return;
	/*
	 * Read the start of what an export streams, then hang up like a client
	 * that went away (the export stops at the broken pipe): the whole
	 * export grows with everything fuzzing stored, and read to the end it
	 * ended up costing more than all the other requests.
	 */
	while (got < 8 * 1024 && (n = read(resp->stream_fd, chunk, sizeof(chunk))) > 0)
		got += (size_t)n;
}

/* 1 if text holds FW_HASH_PREFIX, 22 base64 characters, '$', 43 more: a stored hash. */
static int fw_has_hash(const char *text, size_t len)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t plen = strlen(FW_HASH_PREFIX);
	const char *p = text, *end = text + len;

	while ((p = memmem(p, (size_t)(end - p), FW_HASH_PREFIX, plen)) != NULL) {
		const char *q = p + plen;
		size_t salt = 0, digest = 0;
		while (q < end && salt < 22 && strchr(b64, *q) != NULL && *q != '\0')
			q++, salt++;
		if (salt == 22 && q < end && *q == '$') {
			for (q++; q < end && digest < 43 && strchr(b64, *q) != NULL && *q != '\0';)
				q++, digest++;
			if (digest == 43)
				return 1;
		}
		p++;
	}
	return 0;
}

/* 1 if the request holds needle anywhere a client can put it. */
static int fw_input_has(const char *uri, const char *body, size_t body_len,
                        const struct http_param *headers, size_t nheaders, const char *needle)
{
	size_t n = strlen(needle);

	if (memmem(uri, strlen(uri), needle, n) != NULL ||
	    (body != NULL && memmem(body, body_len, needle, n) != NULL))
		return 1;
	for (size_t i = 0; i < nheaders; i++)
		if (strstr(headers[i].value, needle) != NULL ||
		    strstr(headers[i].name, needle) != NULL)
			return 1;
	return 0;
}

void fuzz_world_serve(struct fuzz_world *w, const char *method, const char *uri,
                      const struct http_param *headers, size_t nheaders, const char *body,
                      size_t body_len, struct http_resp *resp)
{
	const char *ctype, *loc;
	int xss = 0;

	http_serve_memory(idp_handle, &w->idp, method, uri, headers, nheaders, body, body_len,
	                  "198.51.100.7", resp);
	fw_drain(resp);
	if (getenv("FUZZ_VERBOSE") != NULL) /* what each seed reaches, for writing seeds */
		fprintf(stderr, "%s %.80s -> %d %.160s\n", method, uri, resp->status,
		        resp->body.data != NULL ? resp->body.data : "");
	FUZZ_ASSERT(resp->status >= 100 && resp->status <= 599, "status %d", resp->status);
	FUZZ_ASSERT(resp->status != 500 || getenv("FUZZ_ALLOW_500") != NULL,
	            "500 for %s %.200s: %.300s", method, uri,
	            resp->body.data != NULL ? resp->body.data : "");
	FUZZ_ASSERT(!buf_failed(&resp->body), "the response body failed");
	ctype = resp->content_type != NULL ? resp->content_type : "application/json";
	if (resp->body.len > 0 && resp->stream_fd < 0 &&
	    (strncmp(ctype, "application/json", 16) == 0 ||
	     strncmp(ctype, "application/scim+json", 21) == 0)) {
		json_error_t jerr;
		json_t *doc = json_loadb(resp->body.data, resp->body.len, 0, &jerr);
		FUZZ_ASSERT(doc != NULL, "a JSON response that is not JSON (%s): %.300s", jerr.text,
		            resp->body.data);
		json_decref(doc);
	}
	/* a marker in the input must never come back as markup */
	xss = fw_input_has(uri, body, body_len, headers, nheaders, "<xss>");
	if (xss && resp->body.len > 0 && strncmp(ctype, "text/html", 9) == 0)
		FUZZ_ASSERT(memmem(resp->body.data, resp->body.len, "<xss>", 5) == NULL,
		            "input reflected unescaped into HTML");
	/*
	 * Password hashes never leave the store but in an export.  What is
	 * looked for is a whole hash with the world's own parameters (salt and
	 * digest included): names that inputs stored may hold "$argon2" or even
	 * the prefix (libFuzzer learns it from this very comparison), and
	 * errors quote them.
	 */
	if (resp->body.len > 0 && resp->stream_fd < 0)
		FUZZ_ASSERT(!fw_has_hash(resp->body.data, resp->body.len),
		            "a password hash in a response: %.300s", resp->body.data);
	for (int i = 0; i < resp->nheaders; i++) {
		const char *v = resp->headers[i].value;
		FUZZ_ASSERT(strpbrk(v, "\r\n") == NULL, "a header value with a line break");
		if (strcasecmp(resp->headers[i].name, "Set-Cookie") == 0)
			FUZZ_ASSERT(strstr(v, "; HttpOnly") != NULL &&
			                    strstr(v, "SameSite=") != NULL,
			            "a cookie without HttpOnly or SameSite: %s", v);
	}
	if ((resp->status == 302 || resp->status == 303) &&
	    (loc = fw_header(resp, "Location")) != NULL)
		FUZZ_ASSERT(fw_redirect_ok(w, loc), "a redirect to an unregistered address: %.300s",
		            loc);
}

struct fw_denies {
	char ids[64][DIR_ID_MAX];
	int n;
};

static int fw_deny_cb(void *ctx, const struct dir_deny_assignment *x)
{
	struct fw_denies *l = ctx;

	if (l->n == 64)
		return 1;
	snprintf(l->ids[l->n++], DIR_ID_MAX, "%s", x->id);
	return 0;
}

void fuzz_world_tidy(struct fuzz_world *w)
{
	struct rbac_actor who = {"fuzz-world", NULL};
	struct err err = {0};
	struct fw_denies *l = calloc(1, sizeof(*l));

	if (l == NULL)
		abort();
	/* collect first: no writes while the list's statement runs */
	(void)dir_deny_list(fw_dir(w), w->tenant.id, fw_deny_cb, l, &err);
	for (int i = 0; i < l->n; i++)
		(void)rbac_store_deny_delete(fw_dir(w), w->tenant.id, &who, l->ids[i], &err);
	free(l);
}
