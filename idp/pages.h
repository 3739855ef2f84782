/*
 * pages: the server-rendered HTML a person sees: sign-in, second factor,
 * enrollment, errors.  No JavaScript, no external assets; one inline style
 * sheet allowed by its hash in the Content-Security-Policy.  Every value
 * that came from a request or the store is HTML-escaped.
 */
#ifndef IDP_PAGES_H
#define IDP_PAGES_H

#include "buf.h"
#include "idp.h"

/* Compute the style sheet's CSP hash; once, at start-up. */
void pages_init(void);

/*
 * Start a page: headers (CSP allowing form submissions to form_origin too,
 * when not NULL: the app's redirect origin, so the final redirect of a
 * sign-in is not blocked), the document head and the card's heading.
 */
void page_begin(struct idp_req *r, const char *title, const char *form_origin);

/* Close the card and the document. */
void page_end(struct idp_req *r);

/* A whole error page with status, a title and one sentence (escaped). */
void page_error(struct idp_req *r, int status, const char *title, const char *message);

#endif
