/*
 * scim: SCIM 2.0 provisioning of cloud users and groups (scim.c says what
 * is supported).
 */
#ifndef IDP_SCIM_H
#define IDP_SCIM_H

#include "idp.h"

/* Route /{tenant}/scim/v2/... */
void scim_dispatch(struct idp_req *r);

#endif
