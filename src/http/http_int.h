/*
 * http_int.h — what server.c (daemon, routing, answers) and intake.c (the
 * informant's endpoints) share.
 */
#ifndef SIGHTLINE_HTTP_INT_H
#define SIGHTLINE_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <jansson.h>

#include "sightline/commitq.h"
#include "sightline/report.h"
#include "sightline/sealing.h"
#include "sightline/server.h"

#define API_REPORTS "/api/v1/reports"
#define MAX_PHOTOS 5

struct sl_server {
	struct MHD_Daemon *daemon;
	sl_server_config cfg;
	sl_store *store;
	const sl_receipt_key *key;
	sl_commitq *queue;
	sl_ratelimit *rate;
	uint16_t port;

	/* The moderators new items are sealed to, refreshed by the
	 * maintenance thread so that one added or removed with the CLI while
	 * the server runs counts within seconds. */
	pthread_rwlock_t rc_lock;
	sl_recipients rc;

	/* The maintenance thread: recipients, retention purges. */
	pthread_t maint;
	bool maint_started;
	pthread_mutex_t maint_lock;
	pthread_cond_t maint_wake;
	bool stopping;
};

/* What an intake request carries. */
typedef enum req_kind {
	REQ_REPORT_JSON,      /* POST /api/v1/reports, application/json */
	REQ_REPORT_MULTIPART, /* the same, multipart/form-data with photos */
	REQ_FOLLOWUP,         /* POST /api/v1/reports/{receipt}/followups */
} req_kind;

/* Where an intake request is in its life. */
typedef enum req_state {
	REQ_READING,   /* body arriving */
	REQ_WAITING,   /* suspended until the commit queue answers */
	REQ_COMMITTED, /* resumed: answer from commit_err / put_result */
} req_state;

typedef struct photo_buf {
	uint8_t *data;
	size_t len;
} photo_buf;

typedef struct request {
	sl_server *srv;
	struct MHD_Connection *conn;
	req_kind kind;
	req_state state;
	char *body; /* the JSON: the whole body, or the multipart "report" part */
	size_t len, seen;
	bool too_big;
	struct MHD_PostProcessor *pp;
	photo_buf photos[MAX_PHOTOS];
	size_t n_photos;
	sl_problems parts; /* what was wrong with the multipart parts */
	uint8_t receipt_hash[32]; /* of a follow-up's report */
	sl_arena *arena;
	sl_report report;
	char receipt[SL_RECEIPT_TEXT_MAX];
	sl_err commit_err;
	sl_put_result put_result;
} request;

/* Answers (server.c). respond takes a malloc'd body (freed by MHD). */
enum MHD_Result sl_http_respond(struct MHD_Connection *c, unsigned status,
				const char *type, char *body, const char *allow,
				unsigned retry_after);
enum MHD_Result sl_http_json(struct MHD_Connection *c, unsigned status, json_t *doc);
enum MHD_Result sl_http_problem(struct MHD_Connection *c, unsigned status,
				const char *detail, const sl_problems *why,
				const char *allow, unsigned retry_after);

/* intake.c: the first call of an intake request (after routing), each
 * later call, and the request's end. */
enum MHD_Result sl_intake_begin(sl_server *srv, struct MHD_Connection *c,
				req_kind kind, const char *receipt, void **con_cls);
enum MHD_Result sl_intake_continue(request *rq, const char *data, size_t *size);
void sl_intake_free(request *rq);

/* GET /api/v1/reports/{receipt} (intake.c). */
enum MHD_Result sl_intake_status(sl_server *srv, struct MHD_Connection *c,
				 const char *receipt);

#endif
