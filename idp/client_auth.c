/*
 * client_auth: client credentials from the Authorization header or the form.
 */
#include "client_auth.h"

#include "idp_cache.h"
#include "log.h"
#include "secret.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Percent-decode in place (RFC 6749 §2.3.1 form-encodes id and secret before base64). */
static int client_auth_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%') {
			unsigned v;
			if (sscanf(s + 1, "%2x", &v) != 1 || s[1] == '\0' || s[2] == '\0')
				return -1;
			*o++ = (char)v;
			s += 2;
		} else {
			*o++ = *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
	return 0;
}

static enum client_auth_result client_auth_fail(struct idp_req *r, int basic, const char *why)
{
	log_info("tenant %s: %s: client authentication failed from %s: %s", r->tenant.name,
		 r->sub, r->http->client_ip, why);
	http_resp_error(r->resp, 401, "invalid_client", why);
	if (basic)
		http_resp_header(r->resp, "WWW-Authenticate", "Basic realm=\"idp\"");
	return CLIENT_AUTH_FAILED;
}

enum client_auth_result client_auth(struct idp_req *r, struct dir_app *app)
{
	const char *authz = http_header(r->http, "Authorization");
	const char *form_id = http_param(&r->http->form, "client_id", NULL);
	const char *form_secret = http_param(&r->http->form, "client_secret", NULL);
	char decoded[600], id[300] = "", secret[300] = "", hash[SECRET_SHA256_HEX];
	struct err err = {0};
	int basic = authz != NULL && strncasecmp(authz, "Basic ", 6) == 0, ok;

	if (basic) {
		const char *b64 = authz + 6, *colon;
		int n;
		while (*b64 == ' ')
			b64++;
		if (strlen(b64) > 800 || (n = EVP_DecodeBlock((unsigned char *)decoded,
							      (const unsigned char *)b64,
							      (int)strlen(b64))) < 0)
			return client_auth_fail(r, 1, "malformed basic credentials");
		decoded[n] = '\0';
		/* EVP_DecodeBlock counts padding as zero bytes */
		while (n > 0 && decoded[n - 1] == '\0')
			n--;
		colon = memchr(decoded, ':', (size_t)n);
		if (colon == NULL || (size_t)(colon - decoded) >= sizeof(id) ||
		    (size_t)(n - (colon + 1 - decoded)) >= sizeof(secret))
			return client_auth_fail(r, 1, "malformed basic credentials");
		memcpy(id, decoded, (size_t)(colon - decoded));
		memcpy(secret, colon + 1, (size_t)(n - (colon + 1 - decoded)));
		secret_wipe(decoded, sizeof(decoded));
		if (client_auth_unescape(id) != 0 || client_auth_unescape(secret) != 0) {
			secret_wipe(secret, sizeof(secret));
			return client_auth_fail(r, 1, "malformed basic credentials");
		}
		if (form_secret != NULL || (form_id != NULL && strcmp(form_id, id) != 0)) {
			secret_wipe(secret, sizeof(secret));
			http_resp_error(r->resp, 400, "invalid_request",
					"use one client authentication method");
			return CLIENT_AUTH_FAILED;
		}
	} else if (authz != NULL && strncasecmp(authz, "Bearer ", 7) != 0) {
		return client_auth_fail(r, 1, "unsupported authorization scheme");
	} else {
		if (form_id == NULL || strlen(form_id) >= sizeof(id) ||
		    (form_secret != NULL && strlen(form_secret) >= sizeof(secret)))
			return client_auth_fail(r, 0, "client authentication failed");
		snprintf(id, sizeof(id), "%s", form_id);
		if (form_secret != NULL)
			snprintf(secret, sizeof(secret), "%s", form_secret);
	}
	if (id[0] == '\0' || idp_cache_app(r->dir, r->tenant.id, id, r->now, 0, app, &err) != 0) {
		secret_wipe(secret, sizeof(secret));
		return client_auth_fail(r, basic, "client authentication failed");
	}
	if (!app->confidential) {
		if (basic || form_secret != NULL) {
			secret_wipe(secret, sizeof(secret));
			return client_auth_fail(r, basic, "client authentication failed");
		}
		return CLIENT_AUTH_PUBLIC;
	}
	if (secret[0] == '\0')
		return client_auth_fail(r, basic, "client authentication failed");
	secret_sha256_hex(secret, hash);
	secret_wipe(secret, sizeof(secret));
	ok = secret_streq(hash, app->secret_hash);
	/* not the cached secret: maybe it was just rotated; ask the store */
	if (!ok && idp_cache_app(r->dir, r->tenant.id, id, r->now, 1, app, &err) == 0)
		ok = app->confidential && secret_streq(hash, app->secret_hash);
	return ok ? CLIENT_AUTH_OK : client_auth_fail(r, basic, "client authentication failed");
}
