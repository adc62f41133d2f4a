/*
 * mod_int.h — what mod.c (the gate in front of /api/v1/mod/ and its route
 * table) and review.c (the review API's handlers) share: the context a
 * routed request hands its handler, and the handlers mod.c routes to.
 */
#ifndef SIGHTLINE_MOD_INT_H
#define SIGHTLINE_MOD_INT_H

#include "http/http_int.h"
#include "sightline/session.h"

#define MOD_PARAMS_MAX 4

/* One routed request, valid for the handler's call. */
typedef struct mod_ctx {
	sl_server *srv;
	struct MHD_Connection *conn;
	sl_session *session; /* the signed-in moderator; valid for the call */
	const char *method;
	const char *params[MOD_PARAMS_MAX]; /* the "{x}" segments, in order */
	size_t n_params;
	const char *body; /* POST, PUT, PATCH: the whole body; else NULL */
	size_t len;
} mod_ctx;

typedef enum MHD_Result (*mod_handler)(mod_ctx *ctx);

/* review.c: docs/API.md, "Review API". Each answers the request itself
 * and writes its action to the audit log first. */
enum MHD_Result sl_review_queue(mod_ctx *ctx);	      /* GET queue */
enum MHD_Result sl_review_get(mod_ctx *ctx);	      /* GET reports/{id} */
enum MHD_Result sl_review_edit(mod_ctx *ctx);	      /* PATCH reports/{id} */
enum MHD_Result sl_review_photo(mod_ctx *ctx);	      /* GET .../photos/{n} */
enum MHD_Result sl_review_claim(mod_ctx *ctx);	      /* POST .../claim */
enum MHD_Result sl_review_release(mod_ctx *ctx);      /* POST .../release */
enum MHD_Result sl_review_grade(mod_ctx *ctx);	      /* POST .../grade */
enum MHD_Result sl_review_verify(mod_ctx *ctx);	      /* POST .../verify */
enum MHD_Result sl_review_reject(mod_ctx *ctx);	      /* POST .../reject */
enum MHD_Result sl_review_note(mod_ctx *ctx);	      /* POST .../notes */
enum MHD_Result sl_review_attach(mod_ctx *ctx);	      /* POST .../attach */
enum MHD_Result sl_review_detach(mod_ctx *ctx);	      /* POST .../detach */
enum MHD_Result sl_review_event_create(mod_ctx *ctx); /* POST events */
enum MHD_Result sl_review_events(mod_ctx *ctx);	      /* GET events */
enum MHD_Result sl_review_event(mod_ctx *ctx);	      /* GET events/{id} */
enum MHD_Result sl_review_event_merge(mod_ctx *ctx);  /* POST events/{id}/merge */
enum MHD_Result sl_review_event_split(mod_ctx *ctx);  /* POST events/{id}/split */
enum MHD_Result sl_review_audit(mod_ctx *ctx);	      /* GET admin/audit */

#endif
