/*
 * cot.c — the Cursor-on-Target stream for TAK clients (serve --cot-listen
 * HOST:PORT; docs/PUBLISH.md "CoT stream").
 *
 * ATAK, WinTAK and iTAK read a TAK server's streaming input as plain TCP
 * carrying one CoT <event> XML document after another (FreeTAKServer
 * listens on 8087). This is that: every client that connects gets the
 * published events that are not stale yet, then each event as it is
 * published or changes (and a withdrawn one once more, stale at once, so
 * that clients drop it). Input from clients (their own position reports,
 * pings) is read and thrown away.
 *
 * One thread polls the listening socket and every client. The publisher
 * never waits for a client: it appends to each client's queue under a
 * lock and wakes the thread through a pipe. A client whose queue would
 * grow past cot_client_buffer bytes — one that does not read — is
 * dropped. The stream names no one and logs no address.
 */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sightline/timefmt.h"

#define COT_CLIENTS_MAX 64

typedef struct cot_client {
	int fd; /* -1: free */
	char *buf;
	size_t len, off;
	bool drop;
} cot_client;

struct sl_cot {
	int listen_fd;
	int wake[2];
	uint16_t port;
	size_t cap;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* clients' queues, stopping */
	bool stopping;
	cot_client clients[COT_CLIENTS_MAX];
	size_t dropped;
};

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL, 0);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Appends n bytes to c's queue; marks it to drop past the cap. Under lock. */
static void enqueue(sl_cot *t, cot_client *c, const char *data, size_t n)
{
	if (c->fd < 0 || c->drop)
		return;
	if (c->off && c->off == c->len)
		c->off = c->len = 0;
	if (c->len - c->off + n > t->cap) {
		c->drop = true;
		return;
	}
	if (c->off > 0 && c->len + n > t->cap) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	memcpy(c->buf + c->len, data, n);
	c->len += n;
}

static void client_close(sl_cot *t, cot_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = c->off = 0;
	if (c->drop)
		t->dropped++;
	c->drop = false;
}

static void poke(sl_cot *t)
{
	char b = 1;
	ssize_t r = write(t->wake[1], &b, 1);
	(void)r; /* a full pipe already wakes the thread */
}

/* A new client gets what is published and not stale yet, newest first, as
 * far as its queue holds. */
static void greet(sl_server *srv, sl_cot *t, cot_client *c)
{
	const sl_pub_snapshot *snap = sl_publish_snapshot(srv->publish);
	int64_t now = sl_time_now();
	sl_pbuf b;
	sl_pbuf_init(&b, t->cap);
	for (size_t i = 0; i < snap->n; i++) {
		const sl_pub_event *e = &snap->events[i];
		if (e->published_at + sl_pub_cot_stale_s(e->category) <= now)
			continue;
		size_t before = b.len;
		sl_pub_write_cot_event(&b, e, now);
		if (b.failed) {
			b.len = before;
			break;
		}
	}
	sl_publish_release(srv->publish, snap);
	pthread_mutex_lock(&t->lock);
	enqueue(t, c, b.p ? b.p : "", b.len);
	pthread_mutex_unlock(&t->lock);
	sl_pbuf_free(&b);
}

static void accept_clients(sl_server *srv, sl_cot *t)
{
	for (;;) {
		int fd = accept(t->listen_fd, NULL, NULL);
		if (fd < 0)
			return;
		cot_client *slot = NULL;
		pthread_mutex_lock(&t->lock);
		for (size_t i = 0; i < COT_CLIENTS_MAX && !slot; i++)
			if (t->clients[i].fd < 0)
				slot = &t->clients[i];
		if (slot) {
			slot->fd = fd;
			slot->len = slot->off = 0;
			slot->drop = false;
		}
		pthread_mutex_unlock(&t->lock);
		if (!slot) {
			close(fd); /* full: a TAK client reconnects later */
			continue;
		}
		set_nonblock(fd);
		/* Keep the kernel's share small too, so that "slow" means our
		 * queue filling, not megabytes piling up in socket buffers. */
		int sndbuf = t->cap < 65536 ? (int)t->cap : 65536;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		greet(srv, t, slot);
	}
}

/* Sends what c has queued, as far as the socket takes it. Under lock. */
static void flush_client(sl_cot *t, cot_client *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		client_close(t, c);
		return;
	}
	c->off = c->len = 0;
}

static void *cot_main(void *arg)
{
	sl_server *srv = arg;
	sl_cot *t = srv->cot;
	struct pollfd pfd[COT_CLIENTS_MAX + 2];
	cot_client *who[COT_CLIENTS_MAX + 2];
	char scratch[4096];
	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&t->lock);
		if (t->stopping) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		pfd[n++] = (struct pollfd){.fd = t->wake[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = t->listen_fd, .events = POLLIN};
		for (size_t i = 0; i < COT_CLIENTS_MAX; i++) {
			cot_client *c = &t->clients[i];
			if (c->fd >= 0 && c->drop)
				client_close(t, c);
			if (c->fd < 0)
				continue;
			who[n] = c;
			pfd[n++] = (struct pollfd){
			    .fd = c->fd,
			    .events = (short)(POLLIN | (c->len > c->off ? POLLOUT : 0))};
		}
		pthread_mutex_unlock(&t->lock);
		if (poll(pfd, n, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			while (read(t->wake[0], scratch, sizeof(scratch)) > 0)
				;
		if (pfd[1].revents & POLLIN)
			accept_clients(srv, t);
		pthread_mutex_lock(&t->lock);
		for (size_t i = 2; i < n; i++) {
			cot_client *c = who[i];
			if (c->fd != pfd[i].fd)
				continue;
			if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				client_close(t, c);
				continue;
			}
			if (pfd[i].revents & POLLIN) {
				ssize_t r =
				    recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
				if (r == 0 ||
				    (r < 0 && errno != EAGAIN && errno != EINTR)) {
					client_close(t, c);
					continue;
				}
			}
			flush_client(t, c);
		}
		pthread_mutex_unlock(&t->lock);
	}
	return NULL;
}

void sl_cot_broadcast(sl_server *srv, const sl_pub_changes *ch, int64_t now)
{
	sl_cot *t = srv->cot;
	if (!t || !ch->n)
		return;
	sl_pbuf b;
	sl_pbuf_init(&b, (size_t)64 << 20);
	for (size_t i = 0; i < ch->n; i++) {
		const sl_pub_change *c = &ch->list[i];
		if (!c->has_form)
			continue;
		if (c->kind == SL_PUB_WITHDRAW) {
			/* The same uid, stale already: TAK clients remove it. */
			sl_pbuf mark;
			sl_pbuf_init(&mark, 1 << 16);
			sl_pub_write_cot_event(&mark, &c->event, now);
			/* stale = now - 1: rewrite the stale attribute. */
			sl_pbuf_put(&mark, "", 1);
			char *st = mark.failed ? NULL : strstr(mark.p, "stale=\"");
			if (st) {
				char when[SL_TIME_TEXT_MAX];
				sl_time_format(now - 1, when);
				memcpy(st + 7, when, 20);
				sl_pbuf_put(&b, mark.p, mark.len - 1);
			}
			sl_pbuf_free(&mark);
		} else {
			sl_pub_write_cot_event(&b, &c->event, now);
		}
	}
	if (!b.failed && b.len) {
		pthread_mutex_lock(&t->lock);
		for (size_t i = 0; i < COT_CLIENTS_MAX; i++)
			enqueue(t, &t->clients[i], b.p, b.len);
		pthread_mutex_unlock(&t->lock);
		poke(t);
	}
	sl_pbuf_free(&b);
}

uint16_t sl_cot_port(const sl_server *srv)
{
	return srv->cot ? srv->cot->port : 0;
}

sl_err sl_cot_start(sl_server *srv)
{
	if (!srv->cfg.cot_host)
		return SL_OK;
	sl_cot *t = calloc(1, sizeof(*t));
	if (!t)
		return SL_ENOMEM;
	srv->cot = t;
	t->listen_fd = -1;
	t->wake[0] = t->wake[1] = -1;
	t->cap = srv->cfg.cot_client_buffer ? srv->cfg.cot_client_buffer : 256 * 1024;
	pthread_mutex_init(&t->lock, NULL);
	for (size_t i = 0; i < COT_CLIENTS_MAX; i++) {
		t->clients[i].fd = -1;
		if (!(t->clients[i].buf = malloc(t->cap)))
			return SL_ENOMEM;
	}
	if (pipe(t->wake) != 0)
		return SL_EIO;
	set_nonblock(t->wake[0]);
	set_nonblock(t->wake[1]);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags =
				     AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", srv->cfg.cot_port);
	if (getaddrinfo(srv->cfg.cot_host, port, &hints, &res) != 0 || !res) {
		fprintf(stderr, "sightline: --cot-listen: cannot use address %s\n",
			srv->cfg.cot_host);
		return SL_EINVAL;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, 16) != 0) {
		fprintf(stderr,
			"sightline: --cot-listen: cannot listen on %s port %u: %s\n",
			srv->cfg.cot_host, srv->cfg.cot_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return SL_EIO;
	}
	freeaddrinfo(res);
	set_nonblock(fd);
	t->listen_fd = fd;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		t->port = ntohs(ss.ss_family == AF_INET6
				    ? ((struct sockaddr_in6 *)&ss)->sin6_port
				    : ((struct sockaddr_in *)&ss)->sin_port);
	if (pthread_create(&t->thread, NULL, cot_main, srv) != 0)
		return SL_ENOMEM;
	t->started = true;
	return SL_OK;
}

void sl_cot_stop(sl_server *srv)
{
	sl_cot *t = srv->cot;
	if (!t)
		return;
	if (t->started) {
		pthread_mutex_lock(&t->lock);
		t->stopping = true;
		pthread_mutex_unlock(&t->lock);
		poke(t);
		pthread_join(t->thread, NULL);
	}
	for (size_t i = 0; i < COT_CLIENTS_MAX; i++) {
		if (t->clients[i].fd >= 0)
			close(t->clients[i].fd);
		free(t->clients[i].buf);
	}
	if (t->dropped)
		fprintf(stderr, "sightline: cot: %zu slow clients were dropped\n",
			t->dropped);
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	if (t->wake[0] >= 0)
		close(t->wake[0]);
	if (t->wake[1] >= 0)
		close(t->wake[1]);
	pthread_mutex_destroy(&t->lock);
	free(t);
	srv->cot = NULL;
}
