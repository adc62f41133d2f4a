/*
 * commitq.c — group commit: many submitters, one writer thread, one fsync.
 *
 * With synchronous=FULL every transaction costs an fsync, milliseconds on
 * real disks. HTTP intake threads therefore do not write themselves: they
 * put their report in a bounded ring and the writer thread stores whatever
 * is waiting (up to batch_max) in one sl_store_put_reports call, then tells
 * each submitter through its done callback. A busy server so pays one fsync
 * per batch, not per report, and acknowledges nothing before it is durable.
 *
 * Memory is fixed at start: the ring (cap items) and the writer's batch
 * arrays (batch_max items). A full ring refuses with SL_EBUSY at once.
 *
 * Locking: one mutex guards the ring and the stopping flag; the writer waits
 * on one condition variable. The lock is never held while storing or while
 * a done callback runs, so submitters are only ever delayed by a memcpy.
 */
#include "sightline/commitq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct item {
	sl_report *r;
	sl_commit_done done;
	void *ud;
} item;

struct sl_commitq {
	sl_store *store;

	pthread_mutex_t lock;
	pthread_cond_t wake; /* signalled on submit and on stop */
	item *ring;	     /* cap slots; len of them from head on are queued */
	size_t cap, head, len;
	bool stopping;

	pthread_t writer;
	bool joined; /* the writer has ended (sl_commitq_close) */
	/* The writer's own: one batch, taken out of the ring. */
	size_t batch_max;
	item *batch;
	sl_report **reports;
	sl_put_result *results;
};

/* Takes up to batch_max items out of the ring into q->batch, waiting while
 * it is empty. Returns 0 when stopping and nothing is left. */
static size_t take_batch(sl_commitq *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->stopping)
		pthread_cond_wait(&q->wake, &q->lock);
	size_t n = q->len < q->batch_max ? q->len : q->batch_max;
	for (size_t i = 0; i < n; i++) {
		q->batch[i] = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
	}
	q->len -= n;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* The writer: store a batch, answer its submitters, repeat; after stop it
 * drains what is queued before returning. */
static void *writer_main(void *arg)
{
	sl_commitq *q = arg;
	size_t n;
	while ((n = take_batch(q)) > 0) {
		for (size_t i = 0; i < n; i++) {
			q->reports[i] = q->batch[i].r;
			q->results[i] = SL_PUT_INSERTED;
		}
		sl_err err = sl_store_put_reports(q->store, q->reports, n, q->results);
		/* On error result means nothing; done must look at err first. */
		for (size_t i = 0; i < n; i++)
			q->batch[i].done(q->batch[i].ud, err, q->results[i]);
	}
	return NULL;
}

static void free_queue(sl_commitq *q)
{
	free(q->ring);
	free(q->batch);
	free(q->reports);
	free(q->results);
	free(q);
}

sl_err sl_commitq_start(sl_store *s, size_t cap, size_t batch_max, sl_commitq **out)
{
	if (!s || !out || cap == 0 || batch_max == 0)
		return SL_EINVAL;
	*out = NULL;
	if (batch_max > cap)
		batch_max = cap; /* a batch can never hold more than is queued */
	sl_commitq *q = calloc(1, sizeof(*q));
	if (!q)
		return SL_ENOMEM;
	q->store = s;
	q->cap = cap;
	q->batch_max = batch_max;
	q->ring = calloc(cap, sizeof(*q->ring));
	q->batch = calloc(batch_max, sizeof(*q->batch));
	q->reports = calloc(batch_max, sizeof(*q->reports));
	q->results = calloc(batch_max, sizeof(*q->results));
	if (!q->ring || !q->batch || !q->reports || !q->results) {
		free_queue(q);
		return SL_ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	int rc = pthread_create(&q->writer, NULL, writer_main, q);
	if (rc != 0) {
		fprintf(stderr, "sightline: commitq: cannot start writer thread (%d)\n",
			rc);
		pthread_cond_destroy(&q->wake);
		pthread_mutex_destroy(&q->lock);
		free_queue(q);
		return SL_ENOMEM;
	}
	*out = q;
	return SL_OK;
}

sl_err sl_commitq_submit(sl_commitq *q, sl_report *r, sl_commit_done done, void *ud)
{
	if (!q || !r || !done)
		return SL_EINVAL;
	sl_err err = SL_OK;
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		err = SL_ECLOSED;
	} else if (q->len == q->cap) {
		err = SL_EBUSY;
	} else {
		q->ring[(q->head + q->len) % q->cap] = (item){r, done, ud};
		q->len++;
		pthread_cond_signal(&q->wake);
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

void sl_commitq_close(sl_commitq *q)
{
	if (!q || q->joined)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->writer, NULL);
	q->joined = true;
}

void sl_commitq_stop(sl_commitq *q)
{
	if (!q)
		return;
	sl_commitq_close(q);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free_queue(q);
}
