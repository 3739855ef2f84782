/*
 * risk_ua: a User-Agent reduced to the family of browser and system, the
 * "device" the unfamiliar-device detection compares.  Versions are left
 * out on purpose: a browser update is not a new device.  Order matters, as
 * every browser's string names the others it imitates (Edge says Chrome
 * and Safari, Chrome says Safari).
 */
#include "risk.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct risk_ua_rule {
	const char *needle;
	const char *name;
};

static const struct risk_ua_rule risk_browsers[] = {
        {"Edg/", "Edge"},
        {"EdgA/", "Edge"},
        {"EdgiOS/", "Edge"},
        {"OPR/", "Opera"},
        {"SamsungBrowser/", "Samsung"},
        {"Firefox/", "Firefox"},
        {"FxiOS/", "Firefox"},
        {"CriOS/", "Chrome"},
        {"Chromium/", "Chromium"},
        {"HeadlessChrome/", "HeadlessChrome"},
        {"Chrome/", "Chrome"},
        {"Version/", "Safari"},
        {"curl/", "curl"},
        {"Wget/", "Wget"},
        {"python-requests/", "python"},
        {"Python-urllib/", "python"},
        {"Go-http-client/", "Go"},
        {"okhttp/", "okhttp"},
        {"node-fetch", "node"},
        {"undici", "node"},
        {"Java/", "Java"},
        {"PowerShell/", "PowerShell"},
        {"MSIE ", "IE"},
        {"Trident/", "IE"},
};

static const struct risk_ua_rule risk_systems[] = {
        {"Windows", "Windows"}, {"Android", "Android"}, {"iPhone", "iOS"},
        {"iPad", "iOS"},        {"iPod", "iOS"},        {"CrOS", "ChromeOS"},
        {"Mac OS X", "macOS"},  {"Macintosh", "macOS"}, {"Linux", "Linux"},
        {"FreeBSD", "FreeBSD"}, {"OpenBSD", "OpenBSD"},
};

void risk_ua_family(const char *ua, char *out, size_t cap)
{
	const char *browser = "other", *os = "?";

	if (ua == NULL || *ua == '\0') {
		snprintf(out, cap, "none");
		return;
	}
	for (size_t i = 0; i < sizeof(risk_browsers) / sizeof(risk_browsers[0]); i++)
		if (strstr(ua, risk_browsers[i].needle) != NULL) {
			browser = risk_browsers[i].name;
			break;
		}
	/* "Version/" alone is Safari only on Apple's WebKit */
	if (strcmp(browser, "Safari") == 0 && strstr(ua, "Safari/") == NULL)
		browser = "other";
	for (size_t i = 0; i < sizeof(risk_systems) / sizeof(risk_systems[0]); i++)
		if (strstr(ua, risk_systems[i].needle) != NULL) {
			os = risk_systems[i].name;
			break;
		}
	snprintf(out, cap, "%s/%s", browser, os);
}
