/*
 * test_commitq.c — the group-commit queue (src/store/commitq.c) over a real
 * SQLite store in a temporary directory.
 *
 * Nothing here depends on timing. Where a test needs the writer thread to
 * hold still (to fill the queue, to stop while items wait), its first done
 * callback blocks on a gate the test opens when it is ready; production
 * callbacks must never block, this is only a way to freeze the writer at a
 * known point. Batches are counted from inside done: the writer answers a
 * whole batch before it starts the next transaction, so the committed report
 * count seen from done changes exactly once per transaction.
 *
 * cmocka's assertions may only run on the test's own thread, so worker
 * threads and callbacks record what happened and the test checks it after
 * joining them.
 */
#define _GNU_SOURCE /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/commitq.h"
#include "sightline/store.h"

#include "teststore.h"

/* --- fixture: a store in a temporary directory ------------------------------ */

typedef struct fixture {
	char dir[64];
	sl_store *s;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/sl-test-commitq-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sl_store_close(f->s);
	teststore_drop(f->dir);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int64_t count(sl_store *s)
{
	int64_t n = -1;
	assert_int_equal(sl_store_count_reports(s, &n), SL_OK);
	return n;
}

/* --- a gate to hold the writer thread -------------------------------------- */

typedef struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered, open;
} gate;

static void gate_init(gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->entered = g->open = false;
}

static void gate_destroy(gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

/* On the writer: say we are here, then wait until the test opens. */
static void gate_pass(gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->entered = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_wait_entered(gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (!g->entered)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* --- jobs: one report and what became of it -------------------------------- */

typedef struct tally {
	sl_store *s;
	int64_t last_count; /* writer thread only */
	int batches;	    /* writer thread only */
} tally;

typedef struct job {
	sl_report r;
	tally *t;
	gate *g;   /* when set, done blocks here */
	int calls; /* how often done ran */
	sl_err err;
	sl_put_result result;
} job;

static void on_done(void *ud, sl_err err, sl_put_result result)
{
	job *j = ud;
	j->calls++;
	j->err = err;
	j->result = result;
	int64_t n;
	if (sl_store_count_reports(j->t->s, &n) == SL_OK && n != j->t->last_count) {
		j->t->last_count = n;
		j->t->batches++;
	}
	if (j->g)
		gate_pass(j->g);
}

static job *new_jobs(size_t n, tally *t)
{
	job *jobs = calloc(n, sizeof(*jobs));
	assert_non_null(jobs);
	for (size_t i = 0; i < n; i++) {
		jobs[i].r.category = SL_CAT_ROAD_CONVOY;
		jobs[i].r.observed_at = 1700000000 + (int64_t)i;
		jobs[i].r.status = SL_STATUS_RECEIVED;
		jobs[i].r.received_at = 1700000000 + (int64_t)i;
		jobs[i].t = t;
	}
	return jobs;
}

/* Every job done once, stored, and with an id no other job has. */
static void assert_all_stored(job *jobs, size_t n)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(jobs[i].calls, 1);
		assert_int_equal(jobs[i].err, SL_OK);
		assert_int_equal(jobs[i].result, SL_PUT_INSERTED);
		assert_true(jobs[i].r.id > 0);
		if (jobs[i].r.id > max)
			max = jobs[i].r.id;
	}
	bool *used = calloc((size_t)max + 1, sizeof(*used));
	assert_non_null(used);
	for (size_t i = 0; i < n; i++) {
		assert_false(used[jobs[i].r.id]);
		used[jobs[i].r.id] = true;
	}
	free(used);
}

/* --- submitter threads ----------------------------------------------------- */

typedef struct submitter {
	sl_commitq *q;
	job *jobs;
	size_t n;
	bool retry;	 /* on SL_EBUSY, yield and try the same job again */
	size_t ok, busy; /* outcomes of every attempt */
	sl_err other;	 /* the first outcome that was neither */
} submitter;

static void *submit_all(void *arg)
{
	submitter *w = arg;
	for (size_t i = 0; i < w->n; i++) {
		for (;;) {
			sl_err err =
			    sl_commitq_submit(w->q, &w->jobs[i].r, on_done, &w->jobs[i]);
			if (err == SL_OK) {
				w->ok++;
				break;
			}
			if (err == SL_EBUSY) {
				w->busy++;
				if (!w->retry)
					break;
				sched_yield();
				continue;
			}
			if (!w->other)
				w->other = err;
			break;
		}
	}
	return NULL;
}

/* --- tests ----------------------------------------------------------------- */

#define THREADS 8
#define PER_THREAD 200
#define TOTAL (THREADS * PER_THREAD)

/* 8 x 200 concurrent submissions while the writer is held: all accepted,
 * all done with SL_OK, and grouped into few transactions. */
static void test_many_threads_grouped(void **state)
{
	fixture *f = *state;
	enum { BATCH = 64 };
	tally t = {.s = f->s};
	gate g;
	gate_init(&g);
	job *first = new_jobs(1, &t);
	first->g = &g;
	job *jobs = new_jobs(TOTAL, &t);

	sl_commitq *q;
	assert_int_equal(sl_commitq_start(f->s, TOTAL, BATCH, &q), SL_OK);
	assert_int_equal(sl_commitq_submit(q, &first->r, on_done, first), SL_OK);
	gate_wait_entered(&g);

	pthread_t th[THREADS];
	submitter w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] =
		    (submitter){.q = q, .jobs = jobs + i * PER_THREAD, .n = PER_THREAD};
		assert_int_equal(pthread_create(&th[i], NULL, submit_all, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].other, SL_OK);
		assert_int_equal(w[i].busy, 0);
		assert_int_equal(w[i].ok, PER_THREAD);
	}
	gate_open(&g);
	sl_commitq_stop(q);

	assert_all_stored(first, 1);
	assert_all_stored(jobs, TOTAL);
	assert_int_equal(count(f->s), TOTAL + 1);
	/* The first transaction held one report; everything else waited and
	 * went in full batches. */
	assert_int_equal(t.batches, 1 + (TOTAL + BATCH - 1) / BATCH);
	free(first);
	free(jobs);
	gate_destroy(&g);
}

/* A storm against a small queue with the writer running freely: each
 * attempt is either accepted (and then done exactly once) or refused with
 * SL_EBUSY (and then never done); retrying gets every report stored. */
static void test_storm_busy_or_done(void **state)
{
	fixture *f = *state;
	tally t = {.s = f->s};
	job *jobs = new_jobs(TOTAL, &t);
	sl_commitq *q;
	assert_int_equal(sl_commitq_start(f->s, 8, 4, &q), SL_OK);

	pthread_t th[THREADS];
	submitter w[THREADS];
	size_t busy = 0;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (submitter){.q = q,
				   .jobs = jobs + i * PER_THREAD,
				   .n = PER_THREAD,
				   .retry = true};
		assert_int_equal(pthread_create(&th[i], NULL, submit_all, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].other, SL_OK);
		assert_int_equal(w[i].ok, PER_THREAD);
		busy += w[i].busy;
	}
	sl_commitq_stop(q);

	/* A refused attempt that was queued anyway would show as calls == 2. */
	assert_all_stored(jobs, TOTAL);
	assert_int_equal(count(f->s), TOTAL);
	assert_true(t.batches <= TOTAL);
	print_message("storm: %zu refused attempts, %d transactions for %d reports\n",
		      busy, t.batches, TOTAL);
	free(jobs);
}

/* With the writer held, the queue takes exactly cap reports, then refuses. */
static void test_busy_when_full(void **state)
{
	fixture *f = *state;
	enum { CAP = 4 };
	tally t = {.s = f->s};
	gate g;
	gate_init(&g);
	job *jobs = new_jobs(CAP + 2, &t);
	jobs[0].g = &g;

	sl_commitq *q;
	assert_int_equal(sl_commitq_start(f->s, CAP, 2, &q), SL_OK);
	assert_int_equal(sl_commitq_submit(q, &jobs[0].r, on_done, &jobs[0]), SL_OK);
	gate_wait_entered(&g); /* the writer took jobs[0]: the ring is empty */
	for (int i = 1; i <= CAP; i++)
		assert_int_equal(sl_commitq_submit(q, &jobs[i].r, on_done, &jobs[i]),
				 SL_OK);
	job *extra = &jobs[CAP + 1];
	assert_int_equal(sl_commitq_submit(q, &extra->r, on_done, extra), SL_EBUSY);
	gate_open(&g);
	sl_commitq_stop(q);

	assert_all_stored(jobs, CAP + 1);
	assert_int_equal(extra->calls, 0);
	assert_int_equal(extra->r.id, 0);
	assert_int_equal(count(f->s), CAP + 1);
	free(jobs);
	gate_destroy(&g);
}

typedef struct stopper {
	sl_commitq *q;
} stopper;

static void *stop_queue(void *arg)
{
	sl_commitq_stop(((stopper *)arg)->q);
	return NULL;
}

/* Stop while reports wait: they are all committed and answered before stop
 * returns, and once stopping, submit refuses with SL_ECLOSED. */
static void test_stop_flushes_and_refuses(void **state)
{
	fixture *f = *state;
	enum { CAP = 5 };
	tally t = {.s = f->s};
	gate g;
	gate_init(&g);
	job *jobs = new_jobs(CAP + 2, &t);
	jobs[0].g = &g;

	sl_commitq *q;
	assert_int_equal(sl_commitq_start(f->s, CAP, 2, &q), SL_OK);
	assert_int_equal(sl_commitq_submit(q, &jobs[0].r, on_done, &jobs[0]), SL_OK);
	gate_wait_entered(&g);
	for (int i = 1; i <= CAP; i++)
		assert_int_equal(sl_commitq_submit(q, &jobs[i].r, on_done, &jobs[i]),
				 SL_OK);

	/* stop blocks until the writer is done, so it runs on its own thread;
	 * the queue is full and the writer held, so until stop has marked the
	 * queue closed every submit can only be refused as busy. */
	stopper st = {q};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stop_queue, &st), 0);
	job *late = &jobs[CAP + 1];
	sl_err err;
	size_t busy = 0;
	while ((err = sl_commitq_submit(q, &late->r, on_done, late)) == SL_EBUSY) {
		busy++;
		sched_yield();
	}
	assert_int_equal(err, SL_ECLOSED);
	gate_open(&g);
	pthread_join(th, NULL);

	assert_all_stored(jobs, CAP + 1);
	assert_int_equal(late->calls, 0);
	assert_int_equal(count(f->s), CAP + 1);
	free(jobs);
	gate_destroy(&g);
}

/* A batch that fails tells every submitter in it. */
static void test_failed_batch_reported(void **state)
{
	fixture *f = *state;
	tally t = {.s = f->s};
	gate g;
	gate_init(&g);
	job *jobs = new_jobs(3, &t);
	jobs[0].g = &g;
	jobs[1].r.status = (sl_report_status)99; /* refused by the store */

	sl_commitq *q;
	assert_int_equal(sl_commitq_start(f->s, 8, 8, &q), SL_OK);
	assert_int_equal(sl_commitq_submit(q, &jobs[0].r, on_done, &jobs[0]), SL_OK);
	gate_wait_entered(&g);
	assert_int_equal(sl_commitq_submit(q, &jobs[1].r, on_done, &jobs[1]), SL_OK);
	assert_int_equal(sl_commitq_submit(q, &jobs[2].r, on_done, &jobs[2]), SL_OK);
	gate_open(&g);
	sl_commitq_stop(q);

	assert_all_stored(jobs, 1);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(jobs[i].calls, 1);
		assert_int_equal(jobs[i].err, SL_ESTORE);
		assert_int_equal(jobs[i].r.id, 0);
	}
	assert_int_equal(count(f->s), 1);
	free(jobs);
	gate_destroy(&g);
}

/* Duplicates come back as results, not errors. */
static void test_duplicate_result(void **state)
{
	fixture *f = *state;
	tally t = {.s = f->s};
	job *jobs = new_jobs(2, &t);
	jobs[0].r.ref = "same";
	jobs[1].r.ref = "same";
	sl_commitq *q;
	assert_int_equal(sl_commitq_start(f->s, 4, 4, &q), SL_OK);
	assert_int_equal(sl_commitq_submit(q, &jobs[0].r, on_done, &jobs[0]), SL_OK);
	assert_int_equal(sl_commitq_submit(q, &jobs[1].r, on_done, &jobs[1]), SL_OK);
	sl_commitq_stop(q);
	assert_int_equal(jobs[0].calls, 1);
	assert_int_equal(jobs[0].err, SL_OK);
	assert_int_equal(jobs[0].result, SL_PUT_INSERTED);
	assert_int_equal(jobs[1].calls, 1);
	assert_int_equal(jobs[1].err, SL_OK);
	assert_int_equal(jobs[1].result, SL_PUT_DUPLICATE);
	assert_int_equal(count(f->s), 1);
	free(jobs);
}

static void test_bad_arguments(void **state)
{
	fixture *f = *state;
	sl_commitq *q = (sl_commitq *)0x1;
	assert_int_equal(sl_commitq_start(f->s, 0, 1, &q), SL_EINVAL);
	assert_int_equal(sl_commitq_start(f->s, 1, 0, &q), SL_EINVAL);
	assert_int_equal(sl_commitq_start(NULL, 1, 1, &q), SL_EINVAL);
	/* batch_max above cap is fine (clamped). */
	assert_int_equal(sl_commitq_start(f->s, 2, 100, &q), SL_OK);
	sl_report r = {0};
	assert_int_equal(sl_commitq_submit(q, &r, NULL, NULL), SL_EINVAL);
	assert_int_equal(sl_commitq_submit(q, NULL, on_done, NULL), SL_EINVAL);
	sl_commitq_stop(q);
	sl_commitq_stop(NULL);
	assert_int_equal(count(f->s), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		T(test_many_threads_grouped),
		T(test_storm_busy_or_done),
		T(test_busy_when_full),
		T(test_stop_flushes_and_refuses),
		T(test_failed_batch_reported),
		T(test_duplicate_result),
		T(test_bad_arguments),
	};
	/* clang-format on */
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
