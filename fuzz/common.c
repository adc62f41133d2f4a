/*
 * common.c — the fuzz targets' helpers (fuzz.h): failing, temporary
 * directories, a store in memory, and a real server in this process.
 */
#define _GNU_SOURCE
#include "fuzz.h"
#include "import.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sightline/audit.h"
#include "sightline/import.h"
#include "sightline/media.h"
#include "sightline/place.h"
#include "sightline/receipt.h"
#include "sightline/server.h"
#include "store/store_int.h"

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: FINDING: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static void init_libs(void)
{
	if (sl_crypto_init() != SL_OK)
		fuzz_fail("libsodium does not start");
	if (sl_media_init() != SL_OK)
		fuzz_fail("libvips does not start");
	signal(SIGPIPE, SIG_IGN);
}

void fuzz_init_libs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_libs);
}

void fuzz_tmpdir(char *buf, size_t size)
{
	const char *base = getenv("TMPDIR");
	struct stat st;
	if (!base || !*base)
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm"
									 : "/tmp";
	snprintf(buf, size, "%s/sightline-fuzz-XXXXXX", base);
	if (!mkdtemp(buf))
		fuzz_fail("cannot make a directory under %s: %s", base, strerror(errno));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void fuzz_rmtree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the store in memory ---- */

/* The one moderator's key pair: made once, the same for every store. */
static uint8_t mod_pk[SL_MODKEY_PUBLIC_BYTES];

static void moderator_key(void)
{
	/* Deterministic: the seed is fixed, so sealing is the same work for
	 * every run (the ciphertexts differ, but nothing reads them). */
	uint8_t seed[crypto_box_SEEDBYTES] = {0x5e, 0xed};
	uint8_t sk[crypto_box_SECRETKEYBYTES];
	crypto_box_seed_keypair(mod_pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
}

static void make_moderator_key(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, moderator_key);
}

static size_t mem_reports;
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;

static void mem_close(sl_store *s)
{
	free(s);
}

static sl_err mem_put_reports(sl_store *s, sl_report *const *reports, size_t n,
			      sl_put_result *results)
{
	(void)s;
	for (size_t i = 0; i < n; i++) {
		sl_problems why = {0};
		if (sl_report_validate(reports[i], FUZZ_NOW, &why) != SL_OK) {
			char msg[2048];
			sl_problems_format(&why, msg, sizeof(msg));
			fuzz_fail("a report that is not valid reached the store: %s",
				  msg);
		}
		if (reports[i]->text || reports[i]->contact)
			fuzz_fail("a report reached the store with its text or contact "
				  "in clear");
		pthread_mutex_lock(&mem_lock);
		reports[i]->id = (int64_t)++mem_reports;
		pthread_mutex_unlock(&mem_lock);
		results[i] = SL_PUT_INSERTED;
	}
	return SL_OK;
}

static sl_err mem_list_moderators(sl_store *s, bool all, sl_moderator **out, size_t *n)
{
	(void)s, (void)all;
	sl_moderator *m = calloc(1, sizeof(*m));
	if (!m)
		return SL_ENOMEM;
	m->id = 1;
	snprintf(m->name, sizeof(m->name), "fuzz");
	m->role = SL_ROLE_ADMIN;
	m->created_at = FUZZ_NOW - 86400;
	memcpy(m->key.public_key, mod_pk, sizeof(mod_pk));
	*out = m;
	*n = 1;
	return SL_OK;
}

sl_store *fuzz_mem_store(void)
{
	static const sl_store_ops ops = {
	    .name = "fuzz-memory",
	    .close = mem_close,
	    .put_reports = mem_put_reports,
	    .list_moderators = mem_list_moderators,
	};
	fuzz_init_libs();
	make_moderator_key();
	sl_store *s = calloc(1, sizeof(*s));
	if (!s)
		fuzz_fail("out of memory");
	s->ops = &ops;
	return s;
}

size_t fuzz_mem_store_count(void)
{
	pthread_mutex_lock(&mem_lock);
	size_t n = mem_reports;
	pthread_mutex_unlock(&mem_lock);
	return n;
}

/* ---- a server in this process ---- */

static struct {
	char dir[256];
	sl_store *store;
	sl_receipt_key *key;
	sl_audit *audit;
	sl_server *srv;
	uint16_t port;
} served;

uint16_t fuzz_server_port(void)
{
	if (served.srv)
		return served.port;
	fuzz_init_libs();
	make_moderator_key();
	fuzz_tmpdir(served.dir, sizeof(served.dir));
	if (sl_store_open(served.dir, &served.store) != SL_OK ||
	    sl_receipt_key_load(served.dir, &served.key) != SL_OK ||
	    sl_audit_open(served.dir, served.store, &served.audit) != SL_OK)
		fuzz_fail("cannot make the server's data directory in %s", served.dir);
	sl_moderator m = {.role = SL_ROLE_ADMIN, .created_at = FUZZ_NOW - 86400};
	snprintf(m.name, sizeof(m.name), "fuzz");
	memcpy(m.key.public_key, mod_pk, sizeof(mod_pk));
	m.key.opslimit = SL_MODKEY_OPSLIMIT;
	m.key.memlimit = SL_MODKEY_MEMLIMIT;
	if (sl_store_add_moderator(served.store, &m) != SL_OK)
		fuzz_fail("cannot add the moderator");
	sl_server_config cfg;
	sl_server_config_default(&cfg);
	cfg.port = 0;
	cfg.threads = 1;
	cfg.rate.per_client_per_min = 0;
	cfg.rate.global_per_sec = 0;
	cfg.engine_interval_ms = 0;
	cfg.publish_interval_ms = 3600 * 1000;
	cfg.conn_timeout_s = 30;
	if (sl_server_start(&cfg, served.store, served.key, served.audit, &served.srv) !=
	    SL_OK)
		fuzz_fail("the server does not start");
	served.port = sl_server_port(served.srv);
	return served.port;
}

void fuzz_server_stop(void)
{
	if (!served.srv)
		return;
	sl_server_stop(served.srv);
	sl_audit_close(served.audit);
	sl_receipt_key_free(served.key);
	sl_store_close(served.store);
	fuzz_rmtree(served.dir);
	memset(&served, 0, sizeof(served));
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define ANSWER_TIMEOUT_MS 30000

int fuzz_server_exchange(const char *head, const uint8_t *body, size_t len, char *answer,
			 size_t cap)
{
	uint16_t port = fuzz_server_port();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		fuzz_fail("socket: %s", strerror(errno));
	/* libFuzzer's timer (SIGALRM) may interrupt any call here: an
	 * interrupted connect goes on, and is waited for. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int err = errno;
		if (err == EINTR) {
			struct pollfd w = {fd, POLLOUT, 0};
			socklen_t elen = sizeof(err);
			while (poll(&w, 1, ANSWER_TIMEOUT_MS) < 0 && errno == EINTR)
				;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
				err = errno;
		}
		if (err)
			fuzz_fail("cannot connect to the server: %s", strerror(err));
	}
	char hdr[4096];
	int n = snprintf(hdr, sizeof(hdr),
			 "%sContent-Length: %zu\r\nConnection: close\r\n\r\n", head, len);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		fuzz_fail("request head too long");
	/* Send and read at once: the server may answer (413) before it has
	 * read everything, and stop reading. */
	const uint8_t *parts[2] = {(const uint8_t *)hdr, body};
	size_t lens[2] = {(size_t)n, len}, part = 0, off = 0;
	size_t got = 0;
	uint64_t deadline = now_ms() + ANSWER_TIMEOUT_MS;
	bool sending = true;
	for (;;) {
		while (sending && part < 2 && off == lens[part]) {
			part++;
			off = 0;
		}
		if (sending && part == 2) {
			shutdown(fd, SHUT_WR);
			sending = false;
		}
		struct pollfd p = {fd, POLLIN | (sending ? POLLOUT : 0), 0};
		uint64_t now = now_ms();
		if (now >= deadline)
			fuzz_fail("no answer from the server within %d ms (a hang)",
				  ANSWER_TIMEOUT_MS);
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		if (p.revents & POLLIN) {
			char buf[16384];
			ssize_t r = recv(fd, buf, sizeof(buf), 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			size_t keep =
			    (size_t)r < cap - 1 - got ? (size_t)r : cap - 1 - got;
			memcpy(answer + got, buf, keep);
			got += keep;
		} else if (p.revents & (POLLERR | POLLHUP)) {
			break;
		}
		if (sending && (p.revents & POLLOUT)) {
			ssize_t w =
			    send(fd, parts[part] + off, lens[part] - off, MSG_NOSIGNAL);
			/* An error: the server closed; read what it said. */
			if (w < 0 && errno != EINTR)
				sending = false;
			else if (w > 0)
				off += (size_t)w;
		}
	}
	close(fd);
	answer[got] = '\0';
	int status = 0;
	if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz: %.*s\n", (int)strcspn(answer, "\r\n"), answer);
	/* Stopping reading early and closing is allowed only after an answer. */
	if (status == 0)
		fuzz_fail("the server closed the connection without an answer");
	if (status >= 500 && status != 503)
		fuzz_fail("the server answered %d", status);
	return status;
}

int fuzz_server_request(const char *head, const uint8_t *body, size_t len)
{
	char answer[512];
	return fuzz_server_exchange(head, body, len, answer, sizeof(answer));
}

/* The value of "key":"..." in a JSON answer, or of a header "Name: ...",
 * up to the stop characters, into out; false when it is not there. */
static bool answer_value(const char *answer, const char *after, const char *stop,
			 char *out, size_t size)
{
	const char *v = strstr(answer, after);
	if (!v)
		return false;
	v += strlen(after);
	size_t n = strcspn(v, stop);
	if (n == 0 || n >= size)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

void fuzz_server_admin(char *headers, size_t size)
{
	static const char pass[] = "fuzzing passphrase of the admin";
	fuzz_server_port();
	sl_moderator m = {.role = SL_ROLE_ADMIN, .created_at = FUZZ_NOW - 86400};
	snprintf(m.name, sizeof(m.name), "fuzzadmin");
	char recovery[SL_RECOVERY_TEXT_MAX];
	if (sl_modkey_create(pass, strlen(pass), &m.key, recovery) != SL_OK ||
	    sl_store_add_moderator(served.store, &m) != SL_OK)
		fuzz_fail("cannot add the admin");
	char body[128], answer[4096];
	int n = snprintf(body, sizeof(body),
			 "{\"name\":\"fuzzadmin\",\"passphrase\":\"%s\"}", pass);
	int status = fuzz_server_exchange(
	    "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\n",
	    (const uint8_t *)body, (size_t)n, answer, sizeof(answer));
	char cookie[256], csrf[256];
	if (status != 200 ||
	    !answer_value(answer, "Set-Cookie: ", ";\r\n", cookie, sizeof(cookie)) ||
	    !answer_value(answer, "\"csrf\":\"", "\"", csrf, sizeof(csrf)))
		fuzz_fail("the admin cannot sign in (HTTP %d): %.300s", status, answer);
	snprintf(headers, size, "Cookie: %s\r\nX-CSRF-Token: %s\r\n", cookie, csrf);
}

/* ---- places ---- */

static const char stations_tsv[] =
    "name_ru\tname_be\ttype\tlat\tlon\n"
    "Орша-Центральная\tОрша Цэнтральная\tст\t54.5081\t30.4172\n"
    "Барановичи-Полесские\tБаранавічы-Палескія\tст\t53.1327\t26.0139\n"
    "Молодечно\tМаладзечна\tст\t54.3104\t26.8389\n"
    "Колодищи\tКалодзішчы\tоп\t53.9441\t27.7839\n";

static sl_stations *stations;
static sl_gazetteer *gazetteer;

const sl_gazetteer *fuzz_gazetteer(void)
{
	if (gazetteer)
		return gazetteer;
	sl_problems why = {0};
	if (sl_stations_load_buffer(stations_tsv, sizeof(stations_tsv) - 1, &stations,
				    &why) != SL_OK ||
	    sl_gazetteer_new(stations, &gazetteer) != SL_OK)
		fuzz_fail("the fixed station list does not load");
	return gazetteer;
}

void fuzz_gazetteer_free(void)
{
	sl_gazetteer_free(gazetteer);
	sl_stations_free(stations);
	gazetteer = NULL;
	stations = NULL;
}

/* ---- import ---- */

typedef struct rejects {
	size_t n;
} rejects;

static void on_reject(void *ud, long line, const char *why)
{
	rejects *r = ud;
	if (line < 1 || !why || !*why)
		fuzz_fail("a record is rejected at line %ld without a reason", line);
	r->n++;
}

void fuzz_import(const uint8_t *data, size_t size, int fmt)
{
	/* fmemopen of nothing fails; an empty file is still a file. */
	static const uint8_t empty[1];
	FILE *in = fmemopen((void *)(size ? data : empty), size ? size : 1, "r");
	if (!in)
		fuzz_fail("fmemopen: %s", strerror(errno));
	if (!size)
		fgetc(in);
	sl_store *s = fuzz_mem_store();
	size_t before = fuzz_mem_store_count();
	rejects rj = {0};
	sl_import_stats st;
	sl_err e = sl_import(s, (sl_import_format)fmt, in, FUZZ_NOW, on_reject, &rj, &st);
	fclose(in);
	size_t stored = fuzz_mem_store_count() - before;
	sl_store_close(s);
	/* A file whose header is not one of the format's is refused whole,
	 * with the reason told; nothing else may stop an import. */
	if (e == SL_EPARSE && rj.n > 0 && st.records == 0)
		return;
	if (e != SL_OK)
		fuzz_fail("import failed (error %d) on a file that can be read", (int)e);
	if (st.imported != stored)
		fuzz_fail("%zu imported, but the store was given %zu", st.imported,
			  stored);
	if (st.imported + st.duplicate + st.rejected > st.records)
		fuzz_fail("%zu records read, %zu imported, %zu duplicate, %zu rejected",
			  st.records, st.imported, st.duplicate, st.rejected);
	if (rj.n < st.rejected)
		fuzz_fail("%zu rejected, %zu reasons given", st.rejected, rj.n);
}
