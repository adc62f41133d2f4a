/*
 * bench_overload.c — one step of the overload curve (bench/overload,
 * docs/RELIABILITY.md): reports offered to a running server at a fixed
 * rate, open loop, and what became of them.
 *
 *   bench_overload PORT RATE SECONDS PHOTO SERVER_PID
 *
 * Request i is due at start + i / RATE, whatever became of the ones
 * before it (open loop: a slow server does not slow the offer down); 256
 * sender threads take the next due request, each on a connection of its
 * own (Connection: close), a multipart report with the photo PHOTO. The
 * latency of a request is from when it was due to its answer's end, so a
 * request that waited for a free sender counts that wait. While it runs
 * the server's VmRSS is sampled every 50 ms.
 *
 * Prints one line:
 *   OVERLOAD rate=R offered=N created=N busy=N other=N failed=N late=N
 *            created_per_s=X p50_ms=X p99_ms=X busy_p99_ms=X retry_after=S
 *            rss_max_kib=N
 * late counts requests sent more than 100 ms after they were due (the
 * senders could not keep up: the offer was lower than RATE);
 * created_per_s is over the offer's SECONDS, or until the last 201 when
 * that came later.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SENDERS 256
#define BOUNDARY "benchoverloadboundary7f3a"

static const char report_json[] =
    "{\"category\":\"rail_transport\",\"observed_at\":\"2022-10-10T08:30:00Z\","
    "\"location\":{\"lat\":54.5081,\"lon\":30.4172,\"uncertainty_m\":300},"
    "\"equipment\":[{\"type\":\"tank\",\"count\":12}],\"text\":\"overload bench\"}";

static struct {
	uint16_t port;
	double rate;
	uint64_t start_us, end_us;
	char *request;
	size_t request_len;
	_Atomic uint64_t next;
	_Atomic long created, busy, other, failed, late;
	_Atomic int retry_after;
	_Atomic uint64_t last_ok_us; /* when the last 201 arrived */
	pthread_mutex_t lock;
	double *lat_ok, *lat_busy;
	size_t n_ok, n_busy, cap;
	volatile int done;
} b = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void sleep_until(uint64_t us)
{
	uint64_t t = now_us();
	if (us <= t)
		return;
	struct timespec ts = {(time_t)((us - t) / 1000000),
			      (long)((us - t) % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Sends the request and reads the answer's status line and Retry-After;
 * the status, 0 when there was no answer. */
static int exchange(int *retry_after)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(b.port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int status = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		size_t off = 0;
		while (off < b.request_len) {
			ssize_t w =
			    send(fd, b.request + off, b.request_len - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		char ans[4096];
		size_t got = 0;
		for (;;) {
			ssize_t r = recv(fd, ans + got, sizeof(ans) - 1 - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
			if (got == sizeof(ans) - 1)
				got = 1024; /* only the head matters: keep reading */
		}
		ans[got] = '\0';
		if (strncmp(ans, "HTTP/1.", 7) == 0 && got > 12)
			status = atoi(ans + 9);
		const char *ra = strstr(ans, "Retry-After: ");
		if (ra)
			*retry_after = atoi(ra + 13);
	}
	close(fd);
	return status;
}

static void keep(double **v, size_t *n, double ms)
{
	pthread_mutex_lock(&b.lock);
	if (*n < b.cap)
		(*v)[(*n)++] = ms;
	pthread_mutex_unlock(&b.lock);
}

static void *sender(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t i = atomic_fetch_add(&b.next, 1);
		uint64_t due = b.start_us + (uint64_t)((double)i * 1e6 / b.rate);
		if (due >= b.end_us)
			break;
		sleep_until(due);
		if (now_us() > due + 100000)
			atomic_fetch_add(&b.late, 1);
		int ra = -1;
		int status = exchange(&ra);
		double ms = (double)(now_us() - due) / 1000.0;
		if (status == 201) {
			atomic_fetch_add(&b.created, 1);
			uint64_t t = now_us(), was = atomic_load(&b.last_ok_us);
			while (t > was &&
			       !atomic_compare_exchange_weak(&b.last_ok_us, &was, t))
				;
			keep(&b.lat_ok, &b.n_ok, ms);
		} else if (status == 503) {
			atomic_fetch_add(&b.busy, 1);
			keep(&b.lat_busy, &b.n_busy, ms);
			if (ra >= 0)
				atomic_store(&b.retry_after, ra);
		} else if (status == 0) {
			atomic_fetch_add(&b.failed, 1);
		} else {
			atomic_fetch_add(&b.other, 1);
		}
	}
	return NULL;
}

static long rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;
	return a < c ? -1 : a > c;
}

static double pct(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp);
	size_t k = (size_t)(p * (double)(n - 1));
	return v[k];
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr,
			"usage: bench_overload PORT RATE SECONDS PHOTO SERVER_PID\n");
		return 2;
	}
	b.port = (uint16_t)atoi(argv[1]);
	b.rate = atof(argv[2]);
	double seconds = atof(argv[3]);
	int pid = atoi(argv[5]);
	size_t plen = 0;
	char *photo = read_all(argv[4], &plen);
	if (!photo || b.rate <= 0 || seconds <= 0) {
		fprintf(stderr, "bench_overload: cannot read %s, or a bad rate or time\n",
			argv[4]);
		return 2;
	}
	/* The whole request, head and multipart body, once. */
	char head[512], pre[512];
	int pn = snprintf(pre, sizeof(pre),
			  "--" BOUNDARY
			  "\r\nContent-Disposition: form-data; name=\"report\"\r\n"
			  "Content-Type: application/json\r\n\r\n%s\r\n--" BOUNDARY
			  "\r\nContent-Disposition: form-data; name=\"photo\"; "
			  "filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n",
			  report_json);
	const char *post = "\r\n--" BOUNDARY "--\r\n";
	size_t body_len = (size_t)pn + plen + strlen(post);
	int hn = snprintf(head, sizeof(head),
			  "POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  body_len);
	b.request_len = (size_t)hn + body_len;
	b.request = malloc(b.request_len);
	b.cap = (size_t)(b.rate * seconds) + 16;
	b.lat_ok = malloc(b.cap * sizeof(double));
	b.lat_busy = malloc(b.cap * sizeof(double));
	if (!b.request || !b.lat_ok || !b.lat_busy)
		return 2;
	char *p = b.request;
	memcpy(p, head, (size_t)hn), p += hn;
	memcpy(p, pre, (size_t)pn), p += pn;
	memcpy(p, photo, plen), p += plen;
	memcpy(p, post, strlen(post));
	free(photo);

	b.start_us = now_us() + 100000;
	b.end_us = b.start_us + (uint64_t)(seconds * 1e6);
	pthread_t t[SENDERS];
	for (int i = 0; i < SENDERS; i++)
		if (pthread_create(&t[i], NULL, sender, NULL) != 0)
			return 2;
	long rss_max = 0;
	while (now_us() < b.end_us + 2000000) {
		long r = rss_kib(pid);
		if (r > rss_max)
			rss_max = r;
		if (now_us() > b.end_us &&
		    atomic_load(&b.next) >= (uint64_t)(b.rate * seconds) + SENDERS)
			break;
		sleep_until(now_us() + 50000);
	}
	for (int i = 0; i < SENDERS; i++)
		pthread_join(t[i], NULL);
	long offered = b.created + b.busy + b.other + b.failed;
	/* Created a second over the time they took: the offer's length, or
	 * longer when the last 201s came after it (what was queued then). */
	double span = seconds;
	if (b.last_ok_us > b.end_us)
		span = (double)(b.last_ok_us - b.start_us) / 1e6;
	printf("OVERLOAD rate=%.0f offered=%ld created=%ld busy=%ld other=%ld failed=%ld "
	       "late=%ld created_per_s=%.1f p50_ms=%.1f p99_ms=%.1f busy_p99_ms=%.1f "
	       "retry_after=%d rss_max_kib=%ld\n",
	       b.rate, offered, (long)b.created, (long)b.busy, (long)b.other,
	       (long)b.failed, (long)b.late, (double)b.created / span,
	       pct(b.lat_ok, b.n_ok, 0.5), pct(b.lat_ok, b.n_ok, 0.99),
	       pct(b.lat_busy, b.n_busy, 0.99), atomic_load(&b.retry_after), rss_max);
	free(b.request);
	free(b.lat_ok);
	free(b.lat_busy);
	return 0;
}
