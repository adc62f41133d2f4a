/*
 * engine.c — the server's corroboration and tracking thread.
 *
 * One process at a time runs the engine over a store (the store's engine
 * lock says which); in it this thread loads the engine's state at start
 * and then, every engine_interval_ms, takes in the reports intake stored
 * and the changes moderators made since (sl_engine_sync), so that events
 * follow within about a second; then the tracker links the events that
 * changed into tracks (sl_tracker_sync, docs/TRACKING.md) on the network,
 * stations and borders the server was given. Loading a large store takes a
 * few seconds; the server serves meanwhile. Nothing here touches a request.
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "sightline/engine.h"
#include "sightline/publish.h"
#include "sightline/track.h"
#include "sightline/timefmt.h"

static void *engine_main(void *arg)
{
	sl_server *srv = arg;
	bool got = false;
	sl_err err = sl_store_engine_lock(srv->store, &got);
	if (err || !got) {
		fprintf(stderr,
			"sightline: engine: %s; this server does not corroborate\n",
			err ? sl_strerror(err) : "another process runs it");
		return NULL;
	}
	sl_engine *e = NULL;
	if ((err = sl_engine_new(NULL, &e)) ||
	    (err = sl_engine_load(e, srv->store, sl_time_now()))) {
		fprintf(stderr, "sightline: engine: cannot load: %s\n", sl_strerror(err));
		sl_engine_free(e);
		return NULL;
	}
	/* Tracks after events; without a tracker the events still follow. */
	sl_tracker *t = NULL;
	if ((err = sl_tracker_new(srv->cfg.track_params, srv->cfg.network, srv->cfg.stations,
				  srv->cfg.borders, &t)) ||
	    (err = sl_tracker_load(t, srv->store, sl_time_now()))) {
		fprintf(stderr, "sightline: tracker: cannot load: %s; no tracks here\n",
			sl_strerror(err));
		sl_tracker_free(t);
		t = NULL;
	}
	bool failing = false, track_failing = false;
	pthread_mutex_lock(&srv->engine_lock);
	for (;;) {
		bool last = srv->engine_stopping;
		pthread_mutex_unlock(&srv->engine_lock);
		err = sl_engine_sync(e, sl_time_now(), NULL);
		if (err && !failing)
			fprintf(stderr, "sightline: engine: sync failed: %s (retrying)\n",
				sl_strerror(err));
		else if (!err && failing)
			fprintf(stderr, "sightline: engine: sync works again\n");
		failing = err != SL_OK;
		if (t && !err) {
			size_t changed = 0;
			sl_err te = sl_tracker_sync(t, sl_time_now(), &changed);
			/* Tracks can change without their events changing (a
			 * relink): publication would not see it by itself. */
			if (!te && changed && srv->publish) {
				sl_publish_invalidate(srv->publish);
				sl_public_kick(srv);
			}
			if (te && !track_failing)
				fprintf(
				    stderr,
				    "sightline: tracker: sync failed: %s (retrying)\n",
				    sl_strerror(te));
			else if (!te && track_failing)
				fprintf(stderr, "sightline: tracker: sync works again\n");
			track_failing = te != SL_OK;
		}
		pthread_mutex_lock(&srv->engine_lock);
		if (last)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		unsigned ms = srv->cfg.engine_interval_ms;
		until.tv_sec += ms / 1000;
		until.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!srv->engine_stopping &&
		       pthread_cond_timedwait(&srv->engine_wake, &srv->engine_lock,
					      &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&srv->engine_lock);
	sl_tracker_free(t);
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
