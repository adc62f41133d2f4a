/*
 * test_load.c — floods, overload and slow clients against the real server
 * (docs/RELIABILITY.md): it keeps serving, its memory stays bounded, and
 * nothing it acknowledged is lost.
 *
 *   overload      more reports at once than one intake worker can seal:
 *                 503 with Retry-After for what the queue cannot hold,
 *                 every 201 stored, and a report accepted again at once
 *                 when the flood stops;
 *   upload flood  sixty-four clients sending 6 MiB photo parts, against a
 *                 16 MiB budget: the server's peak memory (VmHWM) grows by
 *                 far less than what was offered, the excess is 503;
 *   slowloris     300 connections trickling their headers and 100 bodies
 *                 trickling in, while informants' reports are each
 *                 accepted within a second;
 *   deadlines     a head that never ends, a body that stalls and one that
 *                 creeps below the minimum rate are cut, a slow body above
 *                 it is not, and an idle keep-alive connection is closed;
 *   cut early     a chunked body far past its cap is cut, not read.
 *
 * The thresholds are behaviours, not speeds: they hold on a loaded 2-core
 * machine and under ASan (whose quarantine is made small for the server,
 * so that freed memory is not counted as held).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define REPORTS "/api/v1/reports"
#define MIB (1024 * 1024)

static const char report_json[] =
    "{\"category\":\"rail_transport\",\"observed_at\":\"2022-10-10T08:30:00Z\","
    "\"location\":{\"lat\":54.5081,\"lon\":30.4172,\"uncertainty_m\":300},"
    "\"equipment\":[{\"type\":\"tank\",\"count\":12}],\"text\":\"load test\"}";

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The server's VmHWM (peak) or VmRSS, in KiB, from /proc. */
static long proc_kib(const harness_server *srv, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)srv->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s", path);
	long v = -1;
	size_t n = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	if (v < 0)
		fail_msg("no %s in %s", field, path);
	return v;
}

/* A server with rate limits off, a moderator, and the given flags; the
 * ASan quarantine kept small (it only matters in build-asan/). */
static void start(harness_server *srv, const char *const *flags)
{
	const char *base[] = {"--rate-per-client", "0", "--rate-global", "0"};
	const char *args[40];
	size_t n = 0;
	for (size_t i = 0; i < 4; i++)
		args[n++] = base[i];
	for (size_t i = 0; flags && flags[i]; i++)
		args[n++] = flags[i];
	args[n] = NULL;
	harness_server_init(srv, args);
	harness_moderator_add(srv, "load", "admin");
	harness_server_launch(srv);
}

/* POST one small JSON report; returns the status (0: no answer) and the
 * time it took in *ms. */
static long post_report(const harness_server *srv, uint64_t *ms)
{
	static const char *const json[] = {"Content-Type: application/json", NULL};
	harness_response r;
	char why[256];
	uint64_t t0 = mono_ms();
	long status = 0;
	if (harness_try_request(srv, "POST", REPORTS, json, report_json,
				strlen(report_json), &r, why, sizeof(why))) {
		status = r.status;
		harness_response_free(&r);
	}
	if (ms)
		*ms = mono_ms() - t0;
	return status;
}

/* ---- flooding clients ---- */

typedef struct flood {
	const harness_server *srv;
	const void *photo;
	size_t photo_len;
	volatile int *stop;
	long created, busy, other, failed;
	long bad_retry; /* 503s without a usable Retry-After */
	char first_other[256];
} flood;

static void *flood_run(void *arg)
{
	flood *f = arg;
	harness_multipart m;
	harness_multipart_init(&m);
	harness_multipart_part(&m, "report", NULL, "application/json", report_json,
			       strlen(report_json));
	harness_multipart_part(&m, "photo", "p.jpg", "image/jpeg", f->photo,
			       f->photo_len);
	harness_multipart_end(&m);
	char ct[160];
	snprintf(ct, sizeof(ct), "Content-Type: multipart/form-data; boundary=%s",
		 m.boundary);
	const char *const h[] = {ct, NULL};
	while (!*f->stop) {
		harness_response r;
		char why[256];
		if (!harness_try_request(f->srv, "POST", REPORTS, h, m.data, m.len, &r,
					 why, sizeof(why))) {
			f->failed++;
			continue;
		}
		if (r.status == 201) {
			f->created++;
		} else if (r.status == 503) {
			f->busy++;
			const char *ra = harness_response_header(&r, "Retry-After");
			if (!ra || atoi(ra) < 1)
				f->bad_retry++;
		} else {
			f->other++;
			if (!f->first_other[0])
				snprintf(f->first_other, sizeof(f->first_other),
					 "HTTP %ld: %.200s", r.status, r.body);
		}
		harness_response_free(&r);
	}
	harness_multipart_free(&m);
	harness_thread_done();
	return NULL;
}

/* Runs n flooding clients for ms; their sums in *sum. */
static void run_flood(const harness_server *srv, int n, unsigned ms, const void *photo,
		      size_t len, flood *sum)
{
	volatile int stop = 0;
	flood *f = calloc((size_t)n, sizeof(*f));
	pthread_t *tids = calloc((size_t)n, sizeof(*tids));
	assert_non_null(f);
	assert_non_null(tids);
	for (int i = 0; i < n; i++) {
		f[i] =
		    (flood){.srv = srv, .photo = photo, .photo_len = len, .stop = &stop};
		assert_int_equal(pthread_create(&tids[i], NULL, flood_run, &f[i]), 0);
	}
	sleep_ms(ms);
	stop = 1;
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < n; i++) {
		pthread_join(tids[i], NULL);
		sum->created += f[i].created;
		sum->busy += f[i].busy;
		sum->other += f[i].other;
		sum->failed += f[i].failed;
		sum->bad_retry += f[i].bad_retry;
		if (!sum->first_other[0] && f[i].first_other[0])
			memcpy(sum->first_other, f[i].first_other,
			       sizeof(sum->first_other));
	}
	free(f);
	free(tids);
}

static char *read_test_file(const char *name, size_t *len)
{
	const char *dir = getenv("TEST_DATA");
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
	return harness_read_file(path, len);
}

/* A report is taken at once after a flood: within 1 s, allowing the
 * server a few seconds to drain what it had queued. */
static void check_recovers(const harness_server *srv, const char *ctx)
{
	uint64_t t0 = mono_ms(), took = 0;
	long status = 0;
	while (mono_ms() - t0 < 10000) {
		status = post_report(srv, &took);
		if (status == 201 && took < 1000)
			return;
		sleep_ms(100);
	}
	fail_msg("%s: no report accepted within a second after the flood (last: HTTP "
		 "%ld in %llu ms)",
		 ctx, status, (unsigned long long)took);
}

static void test_overload(void **state)
{
	(void)state;
	harness_server srv;
	const char *const flags[] = {"--intake-workers",
				     "1",
				     "--intake-queue",
				     "4",
				     "--intake-wait",
				     "2000",
				     NULL};
	start(&srv, flags);
	size_t len;
	char *photo = read_test_file("photo/tiny.jpg", &len);
	long rss0 = proc_kib(&srv, "VmRSS");
	flood sum;
	run_flood(&srv, 48, 3000, photo, len, &sum);
	free(photo);
	harness_server_assert_alive(&srv);
	long hwm = proc_kib(&srv, "VmHWM");
	print_message("overload: 48 clients for 3 s against one worker and a queue of "
		      "4: %ld created, %ld refused 503, %ld other, %ld failed; RSS %ld "
		      "KiB before, peak %ld KiB\n",
		      sum.created, sum.busy, sum.other, sum.failed, rss0, hwm);
	if (sum.other)
		fail_msg("overload: %ld answers neither 201 nor 503, first %s", sum.other,
			 sum.first_other);
	if (sum.failed)
		fail_msg("overload: %ld requests got no answer at all", sum.failed);
	if (sum.busy == 0 || sum.created == 0)
		fail_msg("overload: %ld created and %ld refused; expected both",
			 sum.created, sum.busy);
	if (sum.bad_retry)
		fail_msg("overload: %ld of the 503s had no Retry-After", sum.bad_retry);
	long rows = harness_count_reports(&srv);
	if (rows != sum.created)
		fail_msg("overload: %ld reports stored for %ld acknowledged", rows,
			 sum.created);
	check_recovers(&srv, "overload");
	harness_server_stop_ok(&srv);
	harness_server_cleanup(&srv);
}

static void test_upload_flood(void **state)
{
	(void)state;
	harness_server srv;
	const char *const flags[] = {"--upload-budget", "16777216", "--max-photo",
				     "8388608", NULL};
	/* The server's ASan keeps freed memory in a quarantine; a small one,
	 * so that its peak is what it held. */
	setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:quarantine_size_mb=8", 1);
	start(&srv, flags);
	/* 6 MiB that is not an image: refused once read (422), so that each
	 * request holds its bytes for as long as the upload takes. */
	size_t len = 6 * MIB;
	char *junk = malloc(len);
	assert_non_null(junk);
	for (size_t i = 0; i < len; i++)
		junk[i] = (char)(i * 2654435761u >> 13);
	long hwm0 = proc_kib(&srv, "VmHWM");
	volatile int stop = 0;
	enum { N = 64 };
	flood f[N];
	pthread_t tids[N];
	for (int i = 0; i < N; i++) {
		f[i] =
		    (flood){.srv = &srv, .photo = junk, .photo_len = len, .stop = &stop};
		assert_int_equal(pthread_create(&tids[i], NULL, flood_run, &f[i]), 0);
	}
	sleep_ms(4000);
	stop = 1;
	long busy = 0, other = 0, failed = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(tids[i], NULL);
		busy += f[i].busy;
		other += f[i].other + f[i].created;
		failed += f[i].failed;
	}
	free(junk);
	harness_server_assert_alive(&srv);
	long hwm = proc_kib(&srv, "VmHWM");
	long grew = (hwm - hwm0) / 1024;
	print_message(
	    "upload flood: %d clients x 6 MiB against a 16 MiB budget: %ld "
	    "refused 503, %ld answered otherwise (422: not an image), %ld "
	    "without an answer; peak memory grew %ld MiB (%ld KiB -> %ld KiB)\n",
	    N, busy, other, failed, grew, hwm0, hwm);
	if (busy == 0)
		fail_msg("upload flood: no 503 at all: the budget is not enforced");
	/* 64 x 6 MiB in flight would be 384 MiB; the budget allows 16. */
	if (grew > 128)
		fail_msg("upload flood: peak memory grew by %ld MiB with a 16 MiB budget",
			 grew);
	check_recovers(&srv, "upload flood");
	harness_server_stop_ok(&srv);
	harness_server_cleanup(&srv);
	setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1", 1);
}

/* ---- slow clients ---- */

static int connect_nb(const harness_server *srv)
{
	int fd = harness_connect(srv);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Sends s (best effort, non-blocking); false when the peer is gone. */
static bool send_some(int fd, const char *s, size_t n)
{
	ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
	return w >= 0 || errno == EAGAIN;
}

static void test_slowloris(void **state)
{
	(void)state;
	harness_server srv;
	const char *const flags[] = {"--max-connections", "1000", NULL};
	start(&srv, flags);
	enum { HEADS = 300, BODIES = 100 };
	int heads[HEADS], bodies[BODIES];
	for (int i = 0; i < HEADS; i++) {
		heads[i] = connect_nb(&srv);
		const char *start = "POST " REPORTS " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
		send_some(heads[i], start, strlen(start));
	}
	char head[256];
	int hn =
	    snprintf(head, sizeof(head),
		     "POST " REPORTS " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{");
	for (int i = 0; i < BODIES; i++) {
		bodies[i] = connect_nb(&srv);
		send_some(bodies[i], head, (size_t)hn);
	}
	/* Six seconds of trickling — a header byte a second, 800 body bytes
	 * a second (above the minimum rate: these are slow, not stalled) —
	 * while an informant sends a report every 300 ms. */
	uint64_t worst = 0, t0 = mono_ms(), next_tick = t0;
	int sent = 0, created = 0;
	char pad[800];
	memset(pad, ' ', sizeof(pad));
	while (mono_ms() - t0 < 6000) {
		if (mono_ms() >= next_tick) {
			for (int i = 0; i < HEADS; i++)
				send_some(heads[i], "X", 1);
			for (int i = 0; i < BODIES; i++)
				send_some(bodies[i], pad, sizeof(pad));
			next_tick += 1000;
		}
		uint64_t took;
		long status = post_report(&srv, &took);
		sent++;
		if (status == 201)
			created++;
		else
			fail_msg(
			    "slowloris: a report got HTTP %ld after %llu ms with %d slow "
			    "heads and %d slow bodies open",
			    status, (unsigned long long)took, HEADS, BODIES);
		if (took > worst)
			worst = took;
		sleep_ms(300);
	}
	for (int i = 0; i < HEADS; i++)
		close(heads[i]);
	for (int i = 0; i < BODIES; i++)
		close(bodies[i]);
	print_message("slowloris: %d slow heads and %d slow bodies held for 6 s; %d "
		      "reports sent meanwhile, %d accepted, the slowest in %llu ms\n",
		      HEADS, BODIES, sent, created, (unsigned long long)worst);
	if (worst >= 1000)
		fail_msg("slowloris: a report took %llu ms with slow clients open",
			 (unsigned long long)worst);
	harness_server_assert_alive(&srv);
	harness_server_stop_ok(&srv);
	harness_server_cleanup(&srv);
}

/* Waits up to ms for fd to be closed by the server, sending one byte of
 * trickle every every_ms meanwhile (0: nothing); the time it took, or -1. */
static long closed_after(int fd, unsigned ms, unsigned every_ms, const char *trickle,
			 size_t n)
{
	uint64_t t0 = mono_ms(), next = t0;
	while (mono_ms() - t0 < ms) {
		if (every_ms && mono_ms() >= next) {
			if (!send_some(fd, trickle, n))
				return (long)(mono_ms() - t0);
			next += every_ms;
		}
		if (harness_wait_closed(fd, 50))
			return (long)(mono_ms() - t0);
	}
	return -1;
}

static void test_deadlines(void **state)
{
	(void)state;
	harness_server srv;
	const char *const flags[] = {"--header-timeout",
				     "2",
				     "--body-timeout",
				     "2",
				     "--min-body-rate",
				     "1000",
				     NULL};
	start(&srv, flags);
	long before = harness_count_reports(&srv);

	/* A head that never ends, a byte every 300 ms: cut at ~2 s. */
	int fd = connect_nb(&srv);
	send_some(fd, "POST " REPORTS " HTTP/1.1\r\n", 28);
	long t = closed_after(fd, 8000, 300, "X", 1);
	close(fd);
	if (t < 0 || t < 1500)
		fail_msg("header deadline 2 s: a trickling head was closed after %ld ms",
			 t);
	print_message("deadlines: a trickling head closed after %ld ms\n", t);

	/* A body that stops: cut 2 s later. */
	char head[256];
	int hn = snprintf(head, sizeof(head),
			  "POST " REPORTS " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			  strlen(report_json));
	fd = connect_nb(&srv);
	send_some(fd, head, (size_t)hn);
	send_some(fd, report_json, 20);
	t = closed_after(fd, 8000, 0, NULL, 0);
	close(fd);
	if (t < 0 || t < 1500)
		fail_msg("body timeout 2 s: a stalled body was closed after %ld ms", t);
	print_message("deadlines: a stalled body closed after %ld ms\n", t);

	/* A body creeping at 100 bytes a second, below 1000: cut. */
	char big[256];
	int bn =
	    snprintf(big, sizeof(big),
		     "POST " REPORTS " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{");
	static const char spaces[100] = {[0 ... 99] = ' '};
	fd = connect_nb(&srv);
	send_some(fd, big, (size_t)bn);
	t = closed_after(fd, 10000, 1000, spaces, sizeof(spaces));
	close(fd);
	if (t < 0)
		fail_msg("min body rate 1000: a body at 100 bytes/s was not cut in 10 s");
	print_message("deadlines: a body at 100 B/s closed after %ld ms\n", t);

	/* A slow body above the rate, 3 s at 4000 bytes a second: taken. */
	size_t rl = strlen(report_json), pad = 12000;
	char *body = malloc(pad + rl);
	memset(body, ' ', pad);
	memcpy(body + pad, report_json, rl);
	fd = harness_connect(&srv);
	hn = snprintf(head, sizeof(head),
		      "POST " REPORTS " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		      pad + rl);
	send(fd, head, (size_t)hn, MSG_NOSIGNAL);
	for (size_t off = 0; off < pad + rl; off += 1000) {
		size_t n = pad + rl - off < 1000 ? pad + rl - off : 1000;
		if (send(fd, body + off, n, MSG_NOSIGNAL) != (ssize_t)n)
			fail_msg("a body at 4000 B/s was cut after %zu bytes", off);
		sleep_ms(250);
	}
	free(body);
	char answer[512] = "";
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, 5000) == 1)
		recv(fd, answer, sizeof(answer) - 1, 0);
	if (strncmp(answer, "HTTP/1.1 201", 12) != 0)
		fail_msg("a body at 4000 B/s over 3 s: \"%.60s\", expected 201", answer);

	/* The same connection, kept alive and idle: closed at the header
	 * deadline. */
	t = closed_after(fd, 8000, 0, NULL, 0);
	close(fd);
	if (t < 0)
		fail_msg("an idle keep-alive connection was not closed within 8 s");
	print_message("deadlines: a slow body above the rate taken (201); the idle "
		      "connection closed %ld ms later\n",
		      t);

	long after = harness_count_reports(&srv);
	if (after != before + 1)
		fail_msg("deadlines: %ld reports stored, expected %ld", after,
			 before + 1);
	check_recovers(&srv, "deadlines");
	harness_server_stop_ok(&srv);
	harness_server_cleanup(&srv);
}

/* A chunked body (no Content-Length) is cut shortly after its cap: the
 * server does not read 16 MiB to refuse 64 KiB. */
static void test_cut_early(void **state)
{
	(void)state;
	harness_server srv;
	start(&srv, NULL);
	int fd = harness_connect(&srv);
	const char *head = "POST " REPORTS " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			   "Content-Type: application/json\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n";
	send(fd, head, strlen(head), MSG_NOSIGNAL);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char chunk[16384 + 16];
	int cn = snprintf(chunk, sizeof(chunk), "4000\r\n");
	memset(chunk + cn, ' ', 16384);
	memcpy(chunk + cn + 16384, "\r\n", 2);
	size_t sent = 0, total = 16 * MIB;
	while (sent < total) {
		ssize_t w = send(fd, chunk, (size_t)cn + 16386, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	close(fd);
	print_message("cut early: a chunked body past the 64 KiB cap was cut after "
		      "%zu KiB of 16 MiB\n",
		      sent / 1024);
	/* The cap and its grace (128 KiB) plus what the sockets buffer. */
	if (sent >= 8 * MIB)
		fail_msg("a chunked body past its cap: %zu bytes were taken", sent);
	check_recovers(&srv, "cut early");
	harness_server_stop_ok(&srv);
	harness_server_cleanup(&srv);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overload),  cmocka_unit_test(test_upload_flood),
	    cmocka_unit_test(test_slowloris), cmocka_unit_test(test_deadlines),
	    cmocka_unit_test(test_cut_early),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	harness_thread_done();
	return rc;
}
