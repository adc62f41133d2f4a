/*
 * engine.c — the server's corroboration thread.
 *
 * One process at a time runs the engine over a store (the store's engine
 * lock says which: a file lock for SQLite, an advisory lock for
 * PostgreSQL, where several servers share the store). The thread of the
 * process that holds it loads the engine's state and then, every
 * engine_interval_ms, takes in the reports intake stored and the changes
 * moderators made since (sl_engine_sync), so that events follow within
 * about a second. Every other server's thread tries the lock every
 * ENGINE_RETRY_MS and takes over when the holder dies; a holder that finds
 * its lock gone (its database session was cut) stops and follows. Loading
 * a large store takes a few seconds; the server serves meanwhile. Nothing
 * here touches a request.
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "sightline/engine.h"
#include "sightline/timefmt.h"

/* How often a server that does not run the engine tries the lock again:
 * a leader that dies is replaced within about this long (plus, for a dead
 * host rather than a dead process, the database noticing: docs/SCALING.md). */
#define ENGINE_RETRY_MS 2000

/* Waits up to ms on the engine's condition; the caller holds the lock. */
static void engine_wait(sl_server *srv, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!srv->engine_stopping &&
	       pthread_cond_timedwait(&srv->engine_wake, &srv->engine_lock, &until) !=
		   ETIMEDOUT)
		;
}

/* Leads (holds the lock, e loaded) or follows; moves between the two as
 * the lock comes and goes. Returns the engine, NULL while following. */
static sl_engine *lead_or_follow(sl_server *srv, sl_engine *e, bool *said_follow)
{
	bool got = false;
	sl_err err = sl_store_engine_lock(srv->store, &got);
	if (err) {
		fprintf(stderr, "sightline: engine: lock: %s (retrying)\n", sl_strerror(err));
		got = false;
	}
	if (!got && e) {
		fprintf(stderr, "sightline: engine: lost the engine's lock; following "
				"until it is free again\n");
		sl_engine_free(e);
		return NULL;
	}
	if (!got) {
		if (!*said_follow && !err)
			fprintf(stderr, "sightline: engine: another process runs it; this "
					"server takes over if it stops\n");
		*said_follow = true;
		return NULL;
	}
	if (e)
		return e;
	if ((err = sl_engine_new(NULL, &e)) ||
	    (err = sl_engine_load(e, srv->store, sl_time_now()))) {
		fprintf(stderr, "sightline: engine: cannot load: %s (retrying)\n",
			sl_strerror(err));
		sl_engine_free(e);
		return NULL;
	}
	if (*said_follow)
		fprintf(stderr, "sightline: engine: took over; this server corroborates\n");
	*said_follow = false;
	return e;
}

static void *engine_main(void *arg)
{
	sl_server *srv = arg;
	sl_engine *e = NULL;
	bool failing = false, said_follow = false;
	pthread_mutex_lock(&srv->engine_lock);
	for (;;) {
		bool last = srv->engine_stopping;
		pthread_mutex_unlock(&srv->engine_lock);
		if (!last || e)
			e = lead_or_follow(srv, e, &said_follow);
		if (e) {
			sl_err err = sl_engine_sync(e, sl_time_now(), NULL);
			if (err && !failing)
				fprintf(stderr,
					"sightline: engine: sync failed: %s (retrying)\n",
					sl_strerror(err));
			else if (!err && failing)
				fprintf(stderr, "sightline: engine: sync works again\n");
			failing = err != SL_OK;
		}
		pthread_mutex_lock(&srv->engine_lock);
		if (last)
			break;
		engine_wait(srv, e ? srv->cfg.engine_interval_ms : ENGINE_RETRY_MS);
	}
	pthread_mutex_unlock(&srv->engine_lock);
	sl_engine_free(e);
	return NULL;
}

sl_err sl_http_engine_start(sl_server *srv)
{
	if (srv->cfg.engine_interval_ms == 0)
		return SL_OK;
	if (pthread_create(&srv->engine, NULL, engine_main, srv) != 0)
		return SL_ENOMEM;
	srv->engine_started = true;
	return SL_OK;
}

void sl_http_engine_stop(sl_server *srv)
{
	if (!srv->engine_started)
		return;
	pthread_mutex_lock(&srv->engine_lock);
	srv->engine_stopping = true;
	pthread_cond_signal(&srv->engine_wake);
	pthread_mutex_unlock(&srv->engine_lock);
	pthread_join(srv->engine, NULL);
	srv->engine_started = false;
}
