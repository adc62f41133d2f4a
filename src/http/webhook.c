/*
 * webhook.c — POSTing each publication to the webhooks admins registered
 * (docs/PUBLISH.md "Webhooks").
 *
 * The publisher writes one delivery per webhook into the store with the
 * publication (webhook_outbox), so nothing is lost across a restart; this
 * thread takes the due ones, POSTs each as JSON signed with the webhook's
 * secret, and deletes it on a 2xx. A failure (no answer within
 * webhook_timeout_s, or another status) is tried again after
 * webhook_backoff_ms, twice as long each time up to an hour, WEBHOOK_TRIES
 * times in all, then kept as failed for an admin to see. Intake never
 * waits for any of this: it runs on its own thread, and the store's
 * writes are small.
 *
 * The signature: X-Sightline-Signature: sha256=HEX, the HMAC-SHA-256 under
 * the secret of "TIMESTAMP.BODY", TIMESTAMP being X-Sightline-Timestamp
 * (Unix seconds), so that a receiver can refuse stale replays.
 */
#include "http/http_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sightline/timefmt.h"
#include "sl_config.h"

#define WEBHOOK_TRIES 10
#define WEBHOOK_BATCH 16
#define WEBHOOK_BACKOFF_MAX_MS (3600 * 1000LL)
#define WEBHOOK_IDLE_MS 1000

struct sl_webhooks {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping, kicked;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p, (void)ud;
	return size * n;
}

static const char *const kind_words[] = {"publish", "update", "withdraw"};

/* POSTs one delivery; returns the HTTP status (0: no answer). */
static long deliver(sl_server *srv, CURL *curl, const sl_delivery *d)
{
	sl_pbuf body;
	sl_pbuf_init(&body, (size_t)1 << 20);
	char at[SL_TIME_TEXT_MAX];
	sl_time_format(d->at, at);
	sl_pbuf_putf(&body,
		     "{\"type\":\"%s\",\"seq\":%" PRId64 ",\"at\":\"%s\",\"event\":",
		     kind_words[d->kind], d->seq, at);
	sl_pbuf_puts(&body, d->doc);
	sl_pbuf_puts(&body, "}");
	if (body.failed) {
		sl_pbuf_free(&body);
		return 0;
	}
	char ts[24];
	snprintf(ts, sizeof(ts), "%" PRId64, sl_time_now());
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, d->secret, sizeof(d->secret));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)body.p, body.len);
	crypto_auth_hmacsha256_final(&st, mac);
	char hex[2 * sizeof(mac) + 1];
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	char h_sig[96], h_ts[64], h_id[96], h_kind[64];
	snprintf(h_sig, sizeof(h_sig), "X-Sightline-Signature: sha256=%s", hex);
	snprintf(h_ts, sizeof(h_ts), "X-Sightline-Timestamp: %s", ts);
	snprintf(h_id, sizeof(h_id), "X-Sightline-Delivery: %" PRId64 "-%" PRId64,
		 d->webhook_id, d->seq);
	snprintf(h_kind, sizeof(h_kind), "X-Sightline-Event: %s", kind_words[d->kind]);
	struct curl_slist *hs = NULL;
	hs = curl_slist_append(hs, "Content-Type: application/json");
	hs = curl_slist_append(hs, "Expect:");
	hs = curl_slist_append(hs, h_sig);
	hs = curl_slist_append(hs, h_ts);
	hs = curl_slist_append(hs, h_id);
	hs = curl_slist_append(hs, h_kind);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, d->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(
	    curl, CURLOPT_TIMEOUT,
	    (long)(srv->cfg.webhook_timeout_s ? srv->cfg.webhook_timeout_s : 10));
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "sightline-webhook/" SL_VERSION);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.p);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	long status = 0;
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hs);
	sodium_memzero(&st, sizeof(st));
	sl_pbuf_free(&body);
	return status;
}

/* Makes the due deliveries; returns how many were tried. */
static size_t run_due(sl_server *srv, CURL *curl)
{
	sl_arena *a = sl_arena_new((size_t)32 << 20);
	if (!a)
		return 0;
	sl_delivery *list;
	size_t n = 0;
	int64_t now = now_ms();
	if (sl_store_deliveries_due(srv->store, now, WEBHOOK_BATCH, a, &list, &n) !=
	    SL_OK)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		const sl_delivery *d = &list[i];
		long status = deliver(srv, curl, d);
		bool ok = status >= 200 && status < 300;
		int tries = d->attempts + 1;
		int64_t next = 0;
		if (!ok && tries < WEBHOOK_TRIES) {
			int64_t wait = srv->cfg.webhook_backoff_ms
					   ? srv->cfg.webhook_backoff_ms
					   : 5000;
			for (int k = 1; k < tries && wait < WEBHOOK_BACKOFF_MAX_MS; k++)
				wait *= 2;
			if (wait > WEBHOOK_BACKOFF_MAX_MS)
				wait = WEBHOOK_BACKOFF_MAX_MS;
			next = now_ms() + wait;
		}
		if (!ok && !next)
			fprintf(stderr,
				"sightline: webhook %" PRId64
				": gave up on publication %" PRId64 " after %d tries\n",
				d->webhook_id, d->seq, tries);
		sl_store_delivery_result(srv->store, d->webhook_id, d->seq, ok, tries,
					 next, (int)status);
		sodium_memzero((void *)d->secret, sizeof(d->secret));
	}
	sl_arena_free(a);
	return n;
}

static void *webhook_main(void *arg)
{
	sl_server *srv = arg;
	sl_webhooks *w = srv->hooks;
	CURL *curl = curl_easy_init();
	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		w->kicked = false;
		pthread_mutex_unlock(&w->lock);
		size_t n = curl ? run_due(srv, curl) : 0;
		pthread_mutex_lock(&w->lock);
		if (n == WEBHOOK_BATCH || w->kicked)
			continue; /* more may be due */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		int64_t ms = WEBHOOK_IDLE_MS;
		if (srv->cfg.webhook_backoff_ms && srv->cfg.webhook_backoff_ms / 2 < ms)
			ms = srv->cfg.webhook_backoff_ms / 2 + 1;
		until.tv_sec += ms / 1000;
		until.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!w->stopping && !w->kicked &&
		       pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->lock);
	if (curl)
		curl_easy_cleanup(curl);
	return NULL;
}

void sl_webhook_wake(sl_server *srv)
{
	sl_webhooks *w = srv->hooks;
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->kicked = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

sl_err sl_webhook_start(sl_server *srv)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return SL_ENOMEM;
	sl_webhooks *w = calloc(1, sizeof(*w));
	if (!w)
		return SL_ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	srv->hooks = w;
	if (pthread_create(&w->thread, NULL, webhook_main, srv) != 0)
		return SL_ENOMEM;
	w->started = true;
	return SL_OK;
}

void sl_webhook_stop(sl_server *srv)
{
	sl_webhooks *w = srv->hooks;
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	srv->hooks = NULL;
}
