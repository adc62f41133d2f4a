/*
 * commitq.h — group commit for intake.
 *
 * Requests hand their validated report to a bounded queue; one writer thread
 * takes everything waiting (up to a batch limit), stores it in a single
 * transaction, and then tells each submitter the outcome. Concurrent
 * submissions so share one fsync, and a report is acknowledged only after its
 * transaction committed. A full queue refuses at once (SL_EBUSY) so that the
 * server answers 503 instead of growing memory.
 */
#ifndef SIGHTLINE_COMMITQ_H
#define SIGHTLINE_COMMITQ_H

#include <stddef.h>

#include "sightline/report.h"
#include "sightline/store.h"

typedef struct sl_commitq sl_commitq;

/* Called on the writer thread once r's transaction ended: err is SL_OK and
 * result says inserted or duplicate, or err says why the batch failed (then
 * result means nothing, and every report of that batch failed). Must not
 * block. */
typedef void (*sl_commit_done)(void *ud, sl_err err, sl_put_result result);

/* Starts the writer thread over s. cap bounds the reports waiting; batch_max
 * bounds one transaction. The store must outlive the queue. */
sl_err sl_commitq_start(sl_store *s, size_t cap, size_t batch_max,
			sl_commitq **out);

/* Queues r; r must stay valid and unchanged until done is called. Returns
 * SL_EBUSY when the queue is full and SL_ECLOSED when stopping; in both cases
 * done is never called. */
sl_err sl_commitq_submit(sl_commitq *q, sl_report *r, sl_commit_done done,
			 void *ud);

/* Refuses new submissions (SL_ECLOSED from then on), commits what is
 * queued and ends the writer thread; q stays valid for submitters that race
 * with the close. Idempotent. */
void sl_commitq_close(sl_commitq *q);

/* Closes q if needed and frees it. Call once, after the last submitter. */
void sl_commitq_stop(sl_commitq *q);

#endif
