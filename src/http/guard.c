/*
 * guard.c — slow and hostile clients: every connection must keep moving
 * (docs/RELIABILITY.md).
 *
 * libmicrohttpd closes a connection that says nothing for --timeout
 * seconds, but a slowloris client says one byte every few seconds and
 * never finishes its request, and a slow upload trickles its body for
 * hours; each holds one of the --max-connections slots, and enough of
 * them would keep every informant out. So each connection has a deadline,
 * kept here, as Apache's mod_reqtimeout does:
 *
 *   - its request line and headers must be in within cfg.header_timeout_s
 *     of the connection's start (or of the end of its previous request);
 *   - a body must keep coming: the deadline is cfg.body_timeout_s after
 *     the headers, and every cfg.min_body_rate bytes that arrive move it
 *     one second later, never beyond body_timeout_s from now — a body
 *     that stalls for body_timeout_s, or that averages less than
 *     min_body_rate, is cut;
 *   - once the request is the server's (its body is in, or it has none),
 *     there is no deadline: a report waiting for its commit, an answer
 *     being sent (libmicrohttpd's own timeout covers a client that stops
 *     reading).
 *
 * A thread looks at the deadlines four times a second and shuts down the
 * socket of a connection past its own (shutdown, never close: the socket
 * stays libmicrohttpd's, which sees the end and closes it). That is safe
 * because libmicrohttpd tells us a connection is closed (sl_guard_closed)
 * before it closes the socket, under the same lock the thread holds while
 * it shuts sockets down: a socket number is never shut after it has been
 * reused.
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define TICK_MS 250

typedef struct guard_conn {
	struct guard_conn *prev, *next;
	int fd;
	uint64_t deadline_ms; /* 0: none */
	bool in_body;	      /* the deadline is the body's */
	bool cut;
} guard_conn;

struct sl_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	guard_conn list; /* a ring: list.next is the first */
	size_t live;
	bool stopping;
	pthread_t thread;
	bool started;
	uint64_t cut_head, cut_body;
	unsigned header_ms, body_ms, min_rate;
};

static guard_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void sl_guard_opened(sl_server *srv, struct MHD_Connection *c, void **socket_context)
{
	sl_guard *g = srv->guard;
	if (!g)
		return;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	guard_conn *e = calloc(1, sizeof(*e));
	if (!e || !ci) {
		free(e); /* unguarded: libmicrohttpd's idle timeout still holds */
		return;
	}
	e->fd = ci->connect_fd;
	pthread_mutex_lock(&g->lock);
	e->deadline_ms = g->header_ms ? sl_load_now_ms() + g->header_ms : 0;
	e->next = g->list.next;
	e->prev = &g->list;
	g->list.next->prev = e;
	g->list.next = e;
	g->live++;
	pthread_mutex_unlock(&g->lock);
	*socket_context = e;
}

void sl_guard_closed(sl_server *srv, void **socket_context)
{
	sl_guard *g = srv->guard;
	guard_conn *e = *socket_context;
	if (!g || !e)
		return;
	pthread_mutex_lock(&g->lock);
	e->prev->next = e->next;
	e->next->prev = e->prev;
	g->live--;
	pthread_mutex_unlock(&g->lock);
	free(e);
	*socket_context = NULL;
}

/* Sets c's deadline to ms from now (0: none), as a body's or a head's. */
static void set_deadline(sl_server *srv, struct MHD_Connection *c, unsigned ms, bool body)
{
	sl_guard *g = srv->guard;
	guard_conn *e = g ? conn_of(c) : NULL;
	if (!e)
		return;
	pthread_mutex_lock(&g->lock);
	e->deadline_ms = ms ? sl_load_now_ms() + ms : 0;
	e->in_body = body;
	pthread_mutex_unlock(&g->lock);
}

void sl_guard_head_done(sl_server *srv, struct MHD_Connection *c)
{
	sl_guard *g = srv->guard;
	if (!g)
		return;
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_TRANSFER_ENCODING);
	bool body = (cl && strtoull(cl, NULL, 10) > 0) || te;
	set_deadline(srv, c, body ? g->body_ms : 0, body);
}

void sl_guard_body(sl_server *srv, struct MHD_Connection *c, size_t n)
{
	sl_guard *g = srv->guard;
	guard_conn *e = g ? conn_of(c) : NULL;
	if (!e || !g->body_ms)
		return;
	pthread_mutex_lock(&g->lock);
	if (e->in_body && e->deadline_ms) {
		uint64_t now = sl_load_now_ms();
		uint64_t gain =
		    g->min_rate ? (uint64_t)n * 1000 / g->min_rate : g->body_ms;
		uint64_t d = e->deadline_ms + gain, most = now + g->body_ms;
		e->deadline_ms = d < most ? d : most;
	}
	pthread_mutex_unlock(&g->lock);
}

void sl_guard_body_done(sl_server *srv, struct MHD_Connection *c)
{
	set_deadline(srv, c, 0, false);
}

void sl_guard_request_done(sl_server *srv, struct MHD_Connection *c)
{
	sl_guard *g = srv->guard;
	if (g)
		set_deadline(srv, c, g->header_ms, false);
}

static void *guard_main(void *arg)
{
	sl_guard *g = arg;
	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		uint64_t now = sl_load_now_ms();
		for (guard_conn *e = g->list.next; e != &g->list; e = e->next) {
			if (e->cut || !e->deadline_ms || now < e->deadline_ms)
				continue;
			/* Both ways: libmicrohttpd sees the end at once, and
			 * the client stops getting anything more. */
			if (shutdown(e->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
				continue;
			e->cut = true;
			if (e->in_body)
				g->cut_body++;
			else
				g->cut_head++;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!g->stopping)
			pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

sl_err sl_guard_start(sl_server *srv)
{
	const sl_server_config *cfg = &srv->cfg;
	if (!cfg->header_timeout_s && !cfg->body_timeout_s)
		return SL_OK; /* off */
	sl_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return SL_ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	g->list.next = g->list.prev = &g->list;
	g->header_ms = cfg->header_timeout_s * 1000;
	g->body_ms = cfg->body_timeout_s * 1000;
	g->min_rate = cfg->min_body_rate;
	srv->guard = g;
	if (pthread_create(&g->thread, NULL, guard_main, g) != 0)
		return SL_ENOMEM;
	g->started = true;
	return SL_OK;
}

void sl_guard_counts(const sl_server *srv, uint64_t *cut_head, uint64_t *cut_body)
{
	sl_guard *g = srv->guard;
	*cut_head = *cut_body = 0;
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	*cut_head = g->cut_head;
	*cut_body = g->cut_body;
	pthread_mutex_unlock(&g->lock);
}

void sl_guard_stop(sl_server *srv)
{
	sl_guard *g = srv->guard;
	if (!g)
		return;
	if (g->started) {
		pthread_mutex_lock(&g->lock);
		g->stopping = true;
		pthread_cond_signal(&g->wake);
		pthread_mutex_unlock(&g->lock);
		pthread_join(g->thread, NULL);
	}
	/* libmicrohttpd has closed every connection, and told us. */
	for (guard_conn *e = g->list.next, *next; e != &g->list; e = next) {
		next = e->next;
		free(e);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
	srv->guard = NULL;
}
