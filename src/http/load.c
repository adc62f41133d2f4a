/*
 * load.c — intake under load: the bounded queue of reports waiting to be
 * cleaned and sealed, the workers that take them, and the budget of body
 * bytes the server holds in memory (docs/RELIABILITY.md).
 *
 * Reading a request and decoding its report is cheap; cleaning its photos
 * (libvips) and sealing it to every moderator (an X25519 operation per
 * moderator) is not. So libmicrohttpd's threads only read, decode and
 * validate, then park the connection and hand the report to this queue;
 * intake workers clean, seal and pass it to the commit queue, whose writer
 * resumes the connection once it is durable. When reports come faster than
 * the workers can seal them the queue grows, and it is bounded twice: by
 * length (cfg.intake_queue) and by age — once the report at its head has
 * waited cfg.intake_wait_ms, newcomers are refused at once, and a report
 * that waited that long when a worker gets to it is refused too. Refused
 * means 503 with Retry-After, decided in microseconds on the MHD thread,
 * so the server keeps answering at any offered rate, its latency stays
 * near intake_wait_ms, and it recovers as soon as the load drops.
 *
 * The budget bounds memory under a flood of large uploads: every body
 * byte an intake request buffers (a report, a form's fields, photos) is
 * counted against cfg.upload_budget until the request ends. A request
 * with a Content-Length counts all of it before its body is read, and is
 * refused (503) at once when it does not fit: so the uploads that are let
 * in can finish, rather than every one of a burst running out half-way. A
 * body without one counts as it arrives; when the budget runs out it
 * stops buffering and is answered 503 when it ends.
 *
 * Locking: one mutex guards the queue and the stopping flag; the budget is
 * an atomic counter. No lock is held while a worker cleans or seals.
 */
#include "http/http_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct sl_load {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	request **ring; /* cap slots, len from head on queued */
	size_t cap, head, len;
	bool stopping;
	unsigned n_workers;
	pthread_t *workers;
	unsigned started;

	_Atomic size_t held; /* body bytes reserved by live requests */
	_Atomic uint64_t refused_queue, refused_budget, taken;
};

uint64_t sl_load_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the budget ---- */

bool sl_load_reserve(sl_server *srv, request *rq, size_t n)
{
	sl_load *l = srv->load;
	size_t cap = srv->cfg.upload_budget;
	if (!l || cap == 0) {
		rq->reserved += n;
		return true;
	}
	size_t held = atomic_load(&l->held);
	do {
		if (n > cap || held > cap - n) {
			atomic_fetch_add(&l->refused_budget, 1);
			return false;
		}
	} while (!atomic_compare_exchange_weak(&l->held, &held, held + n));
	rq->reserved += n;
	return true;
}

void sl_load_release(sl_server *srv, request *rq)
{
	sl_load *l = srv->load;
	if (l && srv->cfg.upload_budget)
		atomic_fetch_sub(&l->held, rq->reserved);
	rq->reserved = 0;
}

size_t sl_load_held(const sl_server *srv)
{
	return srv->load ? atomic_load(&srv->load->held) : 0;
}

/* ---- the queue ---- */

/* Whether a report queued at queued_ms has waited longer than the bound
 * at now. now may be earlier than queued_ms (another thread read the clock
 * later and queued first): no wait then, never an unsigned wrap. */
static bool waited_too_long(const sl_server *srv, uint64_t queued_ms, uint64_t now)
{
	unsigned bound = srv->cfg.intake_wait_ms;
	return bound && now > queued_ms && now - queued_ms > bound;
}

/* Ends rq's stay with the workers: outcome e (SL_OK: it went on to the
 * commit queue, which answers), and the connection resumed unless it did. */
static void done(request *rq, sl_err e)
{
	if (e == SL_OK)
		return;
	rq->work_err = e;
	rq->state = REQ_COMMITTED;
	MHD_resume_connection(rq->conn);
}

static void *worker_main(void *arg)
{
	sl_server *srv = arg;
	sl_load *l = srv->load;
	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (l->len == 0 && !l->stopping)
			pthread_cond_wait(&l->wake, &l->lock);
		if (l->len == 0)
			break; /* stopping, and nothing left */
		request *rq = l->ring[l->head];
		l->head = (l->head + 1) % l->cap;
		l->len--;
		bool stopping = l->stopping;
		pthread_mutex_unlock(&l->lock);
		/* Too old to be worth the work: the informant is told to send
		 * it again, rather than waiting on a queue that is behind. */
		bool stale = waited_too_long(srv, rq->queued_ms, sl_load_now_ms());
		if (stale)
			atomic_fetch_add(&l->refused_queue, 1);
		done(rq, stopping || stale ? SL_EBUSY : sl_intake_work(rq));
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

sl_err sl_load_submit(sl_server *srv, request *rq)
{
	sl_load *l = srv->load;
	pthread_mutex_lock(&l->lock);
	/* Read under the lock, so that no report queued after it is older. */
	uint64_t now = sl_load_now_ms();
	sl_err e = SL_OK;
	if (l->stopping) {
		e = SL_ECLOSED;
	} else if (l->len == l->cap ||
		   (l->len && waited_too_long(srv, l->ring[l->head]->queued_ms, now))) {
		e = SL_EBUSY;
		atomic_fetch_add(&l->refused_queue, 1);
	} else if (!sl_http_park(srv, rq->conn, &rq->head)) {
		e = SL_ECLOSED;
	} else {
		/* Parked before it is queued, so a worker's resume can never
		 * come first. */
		rq->queued_ms = now;
		rq->state = REQ_WAITING;
		l->ring[(l->head + l->len) % l->cap] = rq;
		l->len++;
		atomic_fetch_add(&l->taken, 1);
		pthread_cond_signal(&l->wake);
	}
	pthread_mutex_unlock(&l->lock);
	return e;
}

void sl_load_stats(const sl_server *srv, sl_load_counts *out)
{
	sl_load *l = srv->load;
	*out = (sl_load_counts){0};
	if (!l)
		return;
	out->taken = atomic_load(&l->taken);
	out->refused_queue = atomic_load(&l->refused_queue);
	out->refused_budget = atomic_load(&l->refused_budget);
	out->held = atomic_load(&l->held);
}

/* ---- start and stop ---- */

sl_err sl_load_start(sl_server *srv)
{
	sl_load *l = calloc(1, sizeof(*l));
	if (!l)
		return SL_ENOMEM;
	srv->load = l;
	l->cap = srv->cfg.intake_queue ? srv->cfg.intake_queue : 1;
	l->n_workers = srv->cfg.intake_workers ? srv->cfg.intake_workers : 1;
	l->ring = calloc(l->cap, sizeof(*l->ring));
	l->workers = calloc(l->n_workers, sizeof(*l->workers));
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	if (!l->ring || !l->workers)
		return SL_ENOMEM;
	for (unsigned i = 0; i < l->n_workers; i++) {
		if (pthread_create(&l->workers[i], NULL, worker_main, srv) != 0) {
			fprintf(stderr, "sightline: cannot start intake worker %u\n", i);
			return SL_ENOMEM;
		}
		l->started++;
	}
	return SL_OK;
}

void sl_load_close(sl_server *srv)
{
	sl_load *l = srv->load;
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_cond_broadcast(&l->wake);
	pthread_mutex_unlock(&l->lock);
	for (unsigned i = 0; i < l->started; i++)
		pthread_join(l->workers[i], NULL);
	l->started = 0;
}

void sl_load_free(sl_server *srv)
{
	sl_load *l = srv->load;
	if (!l)
		return;
	sl_load_close(srv);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l->ring);
	free(l->workers);
	free(l);
	srv->load = NULL;
}
