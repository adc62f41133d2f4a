/*
 * server.h — the HTTP server (libmicrohttpd).
 *
 * Serves the JSON API of docs/API.md. Intake requests are suspended while
 * their report waits in the commit queue and resumed when it is durable, so
 * a few threads carry many connections. The server writes no log line that
 * names a client: no address, no User-Agent, no forwarded-for header.
 */
#ifndef SIGHTLINE_SERVER_H
#define SIGHTLINE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "sightline/audit.h"
#include "sightline/borders.h"
#include "sightline/network.h"
#include "sightline/ratelimit.h"
#include "sightline/receipt.h"
#include "sightline/store.h"
#include "sightline/track.h"

typedef struct sl_server sl_server;

typedef struct sl_server_config {
	const char *host;        /* numeric IPv4 or IPv6 address to bind */
	uint16_t port;           /* 0: any free port (see sl_server_port) */
	unsigned threads;        /* MHD worker threads */
	unsigned conn_limit;     /* open connections at most */
	unsigned conn_timeout_s; /* idle connection timeout */
	/* Slow clients (docs/RELIABILITY.md): a request's line and headers
	 * must be in this long after the connection opened or its previous
	 * request ended; a body may stall this long, and must average
	 * min_body_rate bytes a second; 0 turns each off. */
	unsigned header_timeout_s;
	unsigned body_timeout_s;
	unsigned min_body_rate;
	size_t body_cap;         /* largest JSON body, bytes */
	size_t photo_cap;        /* largest photo, bytes (five at most) */
	unsigned retention_days; /* sealed material kept this long; 0 = ever */
	size_t queue_cap;        /* reports waiting for commit at most */
	size_t batch_max;        /* reports in one transaction at most */
	/* Intake under load (docs/RELIABILITY.md): reports decoded and
	 * waiting to be cleaned and sealed, the threads that do it, how long
	 * one may wait before newcomers are refused (503), and the body bytes
	 * all requests together may hold in memory (0: no cap). */
	unsigned intake_workers;
	size_t intake_queue;
	unsigned intake_wait_ms;
	size_t upload_budget;
	sl_ratelimit_config rate;
	unsigned session_idle_s; /* a moderator's session ends this long unused */
	unsigned session_max_s;	 /* ... and this long after sign-in in any case */
	bool secure_cookies;	 /* mark the session cookie Secure (served over
				    TLS, or behind a TLS proxy) */
	unsigned engine_interval_ms; /* how often the corroboration engine
					takes in new reports and changes; 0:
					no engine in this server */
	/* What the tracker reads after each engine step (any may be NULL;
	 * the caller keeps them alive until sl_server_stop returns); the
	 * stations also name places for the web form and the bot. */
	const sl_network *network;
	const sl_stations *stations;
	const sl_borders *borders;
	const sl_track_params *track_params; /* NULL: sl_track_params_default */
	const char *web_root;	 /* the moderator console's files (web/ of the
				    source tree; its vendored libraries are in
				    WEB_ROOT/../node_modules); files are read
				    at request time, and /mod is 404 while
				    they are missing */
	/* The public side (docs/PUBLISH.md). */
	unsigned publish_interval_ms; /* how often the published picture is
					 brought up to date (new publications
					 go to the CoT stream and webhooks) */
	const char *network_path; /* rail lines (GeoJSON) served, simplified,
				     as /api/v1/public/network.geojson for
				     the public map's basemap; NULL: none */
	const char *cot_host;	  /* the CoT stream for TAK clients: plain
				     TCP on cot_host:cot_port; NULL: off */
	uint16_t cot_port;
	size_t cot_client_buffer; /* bytes queued for one slow TAK client
				     before it is dropped */
	unsigned webhook_backoff_ms; /* the first retry of a failed webhook
					delivery; doubled each time */
	unsigned webhook_timeout_s;  /* one delivery's time limit */
	/* The Telegram bot (docs/INTAKE.md): its token and webhook secret,
	 * each the first line of a file; both, or no bot and
	 * /telegram/webhook is 404. */
	const char *telegram_token_file;
	const char *telegram_secret_file;
	const char *telegram_api_base;	 /* "https://api.telegram.org" */
	unsigned telegram_conversations; /* going on at once, at most */
	unsigned telegram_timeout_s;	 /* a conversation is forgotten this
					    long after its last message */
	unsigned telegram_workers;	 /* threads that talk to the Bot API */
	unsigned telegram_reports;	 /* reports one chat may send per
					    timeout window */
} sl_server_config;

/* The defaults documented in docs/API.md. */
void sl_server_config_default(sl_server_config *cfg);

/* Starts serving. The store, key and audit log must outlive the server;
 * moderators' sign-ins and sign-outs are appended to audit. */
sl_err sl_server_start(const sl_server_config *cfg, sl_store *store,
		       const sl_receipt_key *key, sl_audit *audit, sl_server **out);

/* The port actually bound (useful with port 0). */
uint16_t sl_server_port(const sl_server *srv);

/* The port the CoT stream listens on (0 when there is none). */
uint16_t sl_server_cot_port(const sl_server *srv);

/* Stops accepting, finishes queued commits, frees srv. */
void sl_server_stop(sl_server *srv);

#endif
