/*
 * engine.c — the server's corroboration and tracking thread.
 *
 * One process at a time runs the engine over a store (the store's engine
 * lock says which: a file lock for SQLite, an advisory lock for
 * PostgreSQL, where several servers share the store). The thread of the
 * process that holds it loads the engine's state and then, every
 * engine_interval_ms, takes in the reports intake stored and the changes
 * moderators made since (sl_engine_sync), so that events follow within
 * about a second; then the tracker links the events that changed into
 * tracks (sl_tracker_sync, docs/TRACKING.md) on the network, stations and
 * borders the server was given. Every other server's thread tries the lock
 * every ENGINE_RETRY_MS and takes over when the holder dies; a holder that
 * finds its lock gone (its database session was cut) stops and follows.
 * Loading a large store takes a few seconds; the server serves meanwhile.
 * Nothing here touches a request.
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "sightline/engine.h"
#include "sightline/publish.h"
#include "sightline/track.h"
#include "sightline/timefmt.h"

/* How often a server that does not run the engine tries the lock again:
 * a leader that dies is replaced within about this long (plus, for a dead
 * host rather than a dead process, the database noticing: docs/SCALING.md). */
#define ENGINE_RETRY_MS 2000

/* What the leader runs: the engine and, when it loads, the tracker. */
typedef struct leader {
	sl_engine *engine; /* NULL while following */
	sl_tracker *tracker;
	bool said_follow;
} leader;

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

static void follow(leader *l)
{
	sl_tracker_free(l->tracker);
	sl_engine_free(l->engine);
	l->tracker = NULL;
	l->engine = NULL;
}

/* Leads (holds the lock, the engine loaded) or follows; moves between the
 * two as the lock comes and goes. */
static void lead_or_follow(sl_server *srv, leader *l)
{
	bool got = false;
	sl_err err = sl_store_engine_lock(srv->store, &got);
	if (err) {
		fprintf(stderr, "sightline: engine: lock: %s (retrying)\n", sl_strerror(err));
		got = false;
	}
	if (!got && l->engine) {
		fprintf(stderr, "sightline: engine: lost the engine's lock; following "
				"until it is free again\n");
		follow(l);
		return;
	}
	if (!got) {
		if (!l->said_follow && !err)
			fprintf(stderr, "sightline: engine: another process runs it; this "
					"server takes over if it stops\n");
		l->said_follow = true;
		return;
	}
	if (l->engine)
		return;
	if ((err = sl_engine_new(NULL, &l->engine)) ||
	    (err = sl_engine_load(l->engine, srv->store, sl_time_now()))) {
		fprintf(stderr, "sightline: engine: cannot load: %s (retrying)\n",
			sl_strerror(err));
		follow(l);
		return;
	}
	/* Tracks after events; without a tracker the events still follow. */
	if ((err = sl_tracker_new(srv->cfg.track_params, srv->cfg.network, srv->cfg.stations,
				  srv->cfg.borders, &l->tracker)) ||
	    (err = sl_tracker_load(l->tracker, srv->store, sl_time_now()))) {
		fprintf(stderr, "sightline: tracker: cannot load: %s; no tracks here\n",
			sl_strerror(err));
		sl_tracker_free(l->tracker);
		l->tracker = NULL;
	}
	if (l->said_follow)
		fprintf(stderr, "sightline: engine: took over; this server corroborates\n");
	l->said_follow = false;
}

static void *engine_main(void *arg)
{
	sl_server *srv = arg;
	leader l = {0};
	bool failing = false, track_failing = false;
	pthread_mutex_lock(&srv->engine_lock);
	for (;;) {
		bool last = srv->engine_stopping;
		pthread_mutex_unlock(&srv->engine_lock);
		if (!last || l.engine)
			lead_or_follow(srv, &l);
		if (l.engine) {
			sl_err err = sl_engine_sync(l.engine, sl_time_now(), NULL);
			if (err && !failing)
				fprintf(stderr,
					"sightline: engine: sync failed: %s (retrying)\n",
					sl_strerror(err));
			else if (!err && failing)
				fprintf(stderr, "sightline: engine: sync works again\n");
			failing = err != SL_OK;
			if (l.tracker && !err) {
				size_t changed = 0;
				sl_err te = sl_tracker_sync(l.tracker, sl_time_now(), &changed);
				/* Tracks can change without their events changing
				 * (a relink): publication would not see it by
				 * itself. */
				if (!te && changed && srv->publish) {
					sl_publish_invalidate(srv->publish);
					sl_public_kick(srv);
				}
				if (te && !track_failing)
					fprintf(stderr,
						"sightline: tracker: sync failed: %s "
						"(retrying)\n",
						sl_strerror(te));
				else if (!te && track_failing)
					fprintf(stderr,
						"sightline: tracker: sync works again\n");
				track_failing = te != SL_OK;
			}
		}
		pthread_mutex_lock(&srv->engine_lock);
		if (last)
			break;
		engine_wait(srv, l.engine ? srv->cfg.engine_interval_ms : ENGINE_RETRY_MS);
	}
	pthread_mutex_unlock(&srv->engine_lock);
	follow(&l);
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
