/*
 * harness.c — start, stop and talk to the real sightline binary.
 *
 * See harness.h for the contract. The server runs as a child process made
 * with posix_spawn; its stdout and stderr are appended to ROOT/server.log,
 * which is also where its "listening on" line is read from, so that every
 * word the server ever printed stays available to the tests afterwards.
 * Requests go through libcurl with one easy handle per thread, kept between
 * requests so that keep-alive connections are reused as real clients do.
 * Other commands (the CLI, exiftool) run the same way with their output
 * captured through pipes.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include "teststore.h"

extern char **environ;

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 20000
#define RAW_TIMEOUT_MS 10000
#define BODY_CAP (16u << 20) /* a response larger than this is a bug anyway */
#define PROC_TIMEOUT_MS 120000
#define PROC_OUTPUT_CAP (64u << 20)

static const char listening_prefix[] = "sightline: listening on http://127.0.0.1:";

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Reads the whole file at path (NUL-terminated); NULL when it cannot. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
		char *nb = realloc(buf, cap + 1);
		if (!nb) {
			free(buf);
			buf = NULL;
		}
		buf = nb;
	}
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The last lines of the server log, for failure messages. */
static void print_log_tail(const harness_server *srv)
{
	size_t n = 0;
	char *log = read_file(srv->log, &n);
	if (!log) {
		print_error("(no server log at %s)\n", srv->log);
		return;
	}
	const char *start = n > 4000 ? log + n - 4000 : log;
	print_error(
	    "---- server log (%s), last %zu bytes ----\n%s\n---- end of log ----\n",
	    srv->log, strlen(start), start);
	free(log);
}

char *harness_server_log(const harness_server *srv, size_t *len)
{
	char *log = read_file(srv->log, len);
	if (!log)
		fail_msg("cannot read server log %s: %s", srv->log, strerror(errno));
	return log;
}

/* SIGHTLINE_WRAPPER, when set, is a command the server runs under, its
 * words split at spaces: "valgrind --error-exitcode=99 ..." (the valgrind
 * test setup, tests/meson.build). A valgrind gets a log file of its own
 * in the root, which harness_server_cleanup reads. */
static const char *wrapper(void)
{
	const char *w = getenv("SIGHTLINE_WRAPPER");
	return w && *w ? w : NULL;
}

/* Slower under a wrapper: valgrind runs the server 20 to 50 times slower. */
static uint64_t start_timeout_ms(void)
{
	return wrapper() ? 20 * START_TIMEOUT_MS : START_TIMEOUT_MS;
}

static uint64_t stop_timeout_ms(void)
{
	return wrapper() ? 10 * STOP_TIMEOUT_MS : STOP_TIMEOUT_MS;
}

/* Puts the wrapper's words (copied into buf) at the start of argv. */
static size_t wrap(const harness_server *srv, char **argv, char *buf, size_t size)
{
	const char *w = wrapper();
	size_t argc = 0;
	if (!w)
		return 0;
	snprintf(buf, size, "%s", w);
	for (char *tok = strtok(buf, " "); tok && argc < 16; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	if (argc && strstr(argv[0], "valgrind")) {
		static char log_opt[1200];
		snprintf(log_opt, sizeof(log_opt), "--log-file=%s/valgrind.%%p.log",
			 srv->root);
		argv[argc++] = log_opt;
	}
	return argc;
}

/* Spawns the server on srv->dir and waits for its port. */
static void spawn_server(harness_server *srv)
{
	const char *bin = getenv("SIGHTLINE_BIN");
	if (!bin || !*bin)
		fail_msg("SIGHTLINE_BIN is not set (run through meson test)");

	char *argv[72];
	char words[1024];
	size_t argc = wrap(srv, argv, words, sizeof(words));
	argv[argc++] = (char *)bin;
	argv[argc++] = "serve";
	argv[argc++] = "--data";
	argv[argc++] = srv->dir;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	/* Under a wrapper the server is many times slower, and a report may
	 * well wait a second to be sealed: no refusal for that (a test's own
	 * --intake-wait, after this, still holds). */
	if (wrapper()) {
		argv[argc++] = "--intake-wait";
		argv[argc++] = "0";
	}
	for (size_t i = 0; i < srv->n_args; i++)
		argv[argc++] = srv->args[i];
	argv[argc] = NULL;

	off_t log_start = file_size(srv->log);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, srv->log, O_WRONLY | O_CREAT | O_APPEND,
					 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		fail_msg("cannot start %s: %s", bin, strerror(rc));
	srv->pid = pid;
	srv->port = 0;

	uint64_t deadline = now_ms() + start_timeout_ms();
	for (;;) {
		size_t n = 0;
		char *log = read_file(srv->log, &n);
		if (log && (size_t)log_start <= n) {
			const char *line = strstr(log + log_start, listening_prefix);
			const char *end = line ? strchr(line, '\n') : NULL;
			if (end) {
				long port =
				    strtol(line + strlen(listening_prefix), NULL, 10);
				free(log);
				if (port <= 0 || port > 65535) {
					print_log_tail(srv);
					fail_msg("server announced port %ld", port);
				}
				srv->port = (uint16_t)port;
				snprintf(srv->base, sizeof(srv->base),
					 "http://127.0.0.1:%u", srv->port);
				return;
			}
		}
		free(log);
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			srv->pid = 0;
			print_log_tail(srv);
			fail_msg("server exited before listening (status 0x%x: %s %d)",
				 status, WIFEXITED(status) ? "exit" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status)
						   : WTERMSIG(status));
		}
		if (now_ms() > deadline) {
			print_log_tail(srv);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			srv->pid = 0;
			fail_msg("server did not print \"%s...\" within %llu ms",
				 listening_prefix, (unsigned long long)start_timeout_ms());
		}
		sleep_ms(10);
	}
}

void harness_server_init(harness_server *srv, const char *const *args)
{
	memset(srv, 0, sizeof(*srv));
	const char *tmp = getenv("TMPDIR");
	snprintf(srv->root, sizeof(srv->root), "%s/sightline-it-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(srv->root))
		fail_msg("mkdtemp %s: %s", srv->root, strerror(errno));
	snprintf(srv->dir, sizeof(srv->dir), "%s/data", srv->root);
	snprintf(srv->log, sizeof(srv->log), "%s/server.log", srv->root);
	if (mkdir(srv->dir, 0700) != 0)
		fail_msg("mkdir %s: %s", srv->dir, strerror(errno));
	/* On PostgreSQL (teststore.h) the data directory's config names the
	 * database, so that the server and every command run with --data DIR
	 * use it, as an operator would set it up. */
	const char *url = teststore_url(srv->dir);
	if (url) {
		char path[PATH_MAX], cfg[1200];
		snprintf(path, sizeof(path), "%s/sightline.json", srv->dir);
		int n = snprintf(cfg, sizeof(cfg), "{\"store\": \"%s\"}\n", url);
		harness_write_file(path, cfg, (size_t)n);
	}
	for (size_t i = 0; args && args[i]; i++) {
		if (srv->n_args == sizeof(srv->args) / sizeof(srv->args[0]))
			fail_msg("too many server flags");
		srv->args[srv->n_args++] = strdup(args[i]);
	}
}

void harness_server_init_shared(harness_server *srv, const harness_server *other,
				const char *const *args)
{
	memset(srv, 0, sizeof(*srv));
	const char *tmp = getenv("TMPDIR");
	snprintf(srv->root, sizeof(srv->root), "%s/sightline-it-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(srv->root))
		fail_msg("mkdtemp %s: %s", srv->root, strerror(errno));
	snprintf(srv->dir, sizeof(srv->dir), "%s", other->dir);
	snprintf(srv->log, sizeof(srv->log), "%s/server.log", srv->root);
	srv->shared = true;
	for (size_t i = 0; args && args[i]; i++) {
		if (srv->n_args == sizeof(srv->args) / sizeof(srv->args[0]))
			fail_msg("too many server flags");
		srv->args[srv->n_args++] = strdup(args[i]);
	}
}

void harness_server_kill(harness_server *srv)
{
	if (!srv->pid)
		fail_msg("kill of a server that is not running");
	kill(srv->pid, SIGKILL);
	int status;
	while (waitpid(srv->pid, &status, 0) < 0 && errno == EINTR)
		;
	srv->pid = 0;
}

void harness_server_launch(harness_server *srv)
{
	if (srv->pid)
		fail_msg("start of a running server (pid %d)", (int)srv->pid);
	spawn_server(srv);
}

void harness_server_start(harness_server *srv, const char *const *args)
{
	harness_server_init(srv, args);
	spawn_server(srv);
}

void harness_server_restart(harness_server *srv)
{
	harness_server_launch(srv);
}

int harness_server_stop(harness_server *srv)
{
	if (!srv->pid)
		return -1;
	int status = 0;
	kill(srv->pid, SIGTERM);
	uint64_t deadline = now_ms() + stop_timeout_ms();
	for (;;) {
		pid_t w = waitpid(srv->pid, &status, WNOHANG);
		if (w == srv->pid)
			break;
		if (w < 0 && errno != EINTR) {
			srv->pid = 0;
			return -1;
		}
		if (now_ms() > deadline) {
			kill(srv->pid, SIGKILL);
			waitpid(srv->pid, &status, 0);
			srv->pid = 0;
			return -1;
		}
		sleep_ms(5);
	}
	srv->pid = 0;
	return status;
}

void harness_server_stop_ok(harness_server *srv)
{
	pid_t pid = srv->pid;
	int status = harness_server_stop(srv);
	if (status == -1) {
		print_log_tail(srv);
		fail_msg("server pid %d did not exit within %llu ms of SIGTERM (killed)",
			 (int)pid, (unsigned long long)stop_timeout_ms());
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_log_tail(srv);
		fail_msg("server pid %d ended by %s %d after SIGTERM, expected exit 0",
			 (int)pid, WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
}

void harness_server_assert_alive(harness_server *srv)
{
	if (!srv->pid)
		fail_msg("server is not running");
	int status;
	if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
		pid_t pid = srv->pid;
		srv->pid = 0;
		print_log_tail(srv);
		fail_msg("server pid %d died: %s %d", (int)pid,
			 WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
}

static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (strcmp(e->d_name, ".") == 0 ||
				    strcmp(e->d_name, "..") == 0)
					continue;
				char sub[PATH_MAX];
				snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
				remove_tree(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* Fails the test when a valgrind log in srv's root reports an error (a
 * leak counts as one only when definite: the setup says so). */
static void check_valgrind_logs(const harness_server *srv)
{
	DIR *d = srv->root[0] ? opendir(srv->root) : NULL;
	struct dirent *e;
	char bad[2048] = "";
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "valgrind.", 9) != 0)
			continue;
		char path[2048];
		snprintf(path, sizeof(path), "%s/%s", srv->root, e->d_name);
		char *log = read_file(path, NULL);
		const char *sum = log ? strstr(log, "ERROR SUMMARY: ") : NULL;
		/* A server killed before its exit has no summary: an error it
		 * printed before that still counts. */
		bool bad_log = sum ? strtol(sum + 15, NULL, 10) > 0
				   : log && (strstr(log, "Invalid read") ||
					     strstr(log, "Invalid write") ||
					     strstr(log, "uninitialised") ||
					     strstr(log, "Invalid free"));
		if (bad_log) {
			size_t n = strlen(log);
			print_error("---- %s ----\n%s\n", path, n > 12000 ? log + n - 12000 : log);
			snprintf(bad, sizeof(bad), "%.1900s: %.80s", path,
				 sum ? sum : "an error, then killed");
		}
		free(log);
	}
	if (d)
		closedir(d);
	if (bad[0])
		fail_msg("valgrind found errors in the server: %s", bad);
}

void harness_server_cleanup(harness_server *srv)
{
	if (srv->pid)
		harness_server_stop(srv);
	if (wrapper())
		check_valgrind_logs(srv);
	if (srv->dir[0] && !srv->shared && !getenv("HARNESS_KEEP"))
		teststore_drop(srv->dir);
	if (srv->root[0] && !getenv("HARNESS_KEEP"))
		remove_tree(srv->root);
	for (size_t i = 0; i < srv->n_args; i++)
		free(srv->args[i]);
	memset(srv, 0, sizeof(*srv));
}

/* ---- responses ---- */

void harness_response_free(harness_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *harness_response_header(const harness_response *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void clear_headers(harness_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

/* Adds one "Name: value" line (without CRLF) to r; ignores other lines. */
static void add_header_line(harness_response *r, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	if (!colon)
		return;
	const char *v = colon + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	harness_header *h = realloc(r->headers, (r->n_headers + 1) * sizeof(*h));
	if (!h)
		return;
	r->headers = h;
	h[r->n_headers].name = strndup(line, (size_t)(colon - line));
	h[r->n_headers].value = strndup(v, (size_t)(end - v));
	r->n_headers++;
}

static void append_body(harness_response *r, const char *p, size_t n)
{
	if (r->body_len + n > BODY_CAP)
		n = BODY_CAP - r->body_len;
	char *b = realloc(r->body, r->body_len + n + 1);
	if (!b)
		return;
	memcpy(b + r->body_len, p, n);
	r->body = b;
	r->body_len += n;
	r->body[r->body_len] = '\0';
}

static void ensure_body(harness_response *r)
{
	if (!r->body) {
		r->body = calloc(1, 1);
		r->body_len = 0;
	}
}

/* ---- libcurl ---- */

static __thread CURL *thread_curl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void harness_thread_done(void)
{
	if (thread_curl) {
		curl_easy_cleanup(thread_curl);
		thread_curl = NULL;
	}
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	harness_response *r = ud;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
		clear_headers(r); /* a new response: forget an interim one */
	else
		add_header_line(r, p, n);
	return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	append_body(ud, p, size * nmemb);
	return size * nmemb;
}

static bool has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; headers && headers[i]; i++)
		if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
			return true;
	return false;
}

bool harness_try_request(const harness_server *srv, const char *method, const char *path,
			 const char *const *headers, const void *body, size_t len,
			 harness_response *out, char *why, size_t why_size)
{
	pthread_once(&curl_once, curl_init_once);
	memset(out, 0, sizeof(*out));
	if (!thread_curl)
		thread_curl = curl_easy_init();
	CURL *c = thread_curl;
	if (!c) {
		snprintf(why, why_size, "curl_easy_init failed");
		return false;
	}
	curl_easy_reset(c);

	char url[16384];
	snprintf(url, sizeof(url), "%s%s", srv->base, path);
	struct curl_slist *list = NULL;
	if (!has_header(headers, "Expect"))
		list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);

	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* Under a wrapper an Argon2id sign-in alone takes tens of seconds. */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, wrapper() ? 300000L : 30000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") == 0 && !body) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		if (body || strcmp(method, "POST") == 0) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		}
	}

	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(list);
	if (rc != CURLE_OK) {
		snprintf(why, why_size, "%s %s: %s (%s)", method, path,
			 curl_easy_strerror(rc), err);
		harness_response_free(out);
		return false;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	ensure_body(out);
	return true;
}

void harness_request(const harness_server *srv, const char *method, const char *path,
		     const char *const *headers, const void *body, size_t len,
		     harness_response *out)
{
	char why[512];
	if (!harness_try_request(srv, method, path, headers, body, len, out, why,
				 sizeof(why)))
		fail_msg("request failed: %s", why);
}

void harness_post_json(const harness_server *srv, const char *path, const char *body,
		       harness_response *out)
{
	static const char *const h[] = {"Content-Type: application/json", NULL};
	harness_request(srv, "POST", path, h, body, strlen(body), out);
}

void harness_get(const harness_server *srv, const char *path, harness_response *out)
{
	harness_request(srv, "GET", path, NULL, NULL, 0, out);
}

/* ---- raw sockets ---- */

/* Parses what arrived so far into out. Returns true when the response is
 * complete (by Content-Length or the end of a chunked body). */
static bool parse_raw(const char *buf, size_t n, bool eof, harness_response *out)
{
	harness_response_free(out);
	if (!buf || n == 0)
		return eof;
	/* Skip interim 1xx responses. */
	size_t off = 0;
	for (;;) {
		const char *p = buf + off;
		const char *hend = memmem(p, n - off, "\r\n\r\n", 4);
		if (!hend || n - off < 12 || memcmp(p, "HTTP/", 5) != 0)
			return false;
		const char *sp = memchr(p, ' ', (size_t)(hend - p));
		long status = sp ? strtol(sp + 1, NULL, 10) : 0;
		off = (size_t)(hend - buf) + 4;
		if (status >= 100 && status < 200)
			continue;
		out->status = status;
		const char *line = memchr(p, '\n', (size_t)(hend - p));
		while (line && line < hend) {
			line++;
			const char *nl = memchr(line, '\n', (size_t)(hend + 2 - line));
			if (!nl)
				break;
			add_header_line(out, line, (size_t)(nl - line));
			line = nl;
		}
		break;
	}
	ensure_body(out);
	const char *cl = harness_response_header(out, "Content-Length");
	const char *te = harness_response_header(out, "Transfer-Encoding");
	if (te && strcasestr(te, "chunked")) {
		/* Decode as far as it goes; offsets, not pointers, all along. */
		while (off < n) {
			size_t nl = off;
			while (nl + 1 < n && !(buf[nl] == '\r' && buf[nl + 1] == '\n'))
				nl++;
			if (nl + 1 >= n)
				return eof;
			size_t size = strtoul(buf + off, NULL, 16);
			off = nl + 2;
			if (size == 0)
				return true;
			if (n - off < size + 2) {
				append_body(out, buf + off, n - off);
				return eof;
			}
			append_body(out, buf + off, size);
			off += size + 2;
		}
		return eof;
	}
	size_t have = n - off;
	if (cl) {
		size_t want = strtoul(cl, NULL, 10);
		append_body(out, buf + off, have < want ? have : want);
		return have >= want || eof;
	}
	append_body(out, buf + off, have);
	return eof;
}

int harness_connect(const harness_server *srv)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail_msg("socket: %s", strerror(errno));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(srv->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		fail_msg("connect 127.0.0.1:%u: %s", srv->port, strerror(e));
	}
	return fd;
}

bool harness_wait_closed(int fd, unsigned ms)
{
	uint64_t deadline = now_ms() + ms;
	char buf[4096];
	for (;;) {
		uint64_t t = now_ms();
		if (t >= deadline)
			return false;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)(deadline - t));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return false;
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

void harness_raw(const harness_server *srv, const void *req, size_t len, unsigned flags,
		 harness_response *out)
{
	memset(out, 0, sizeof(*out));
	int fd = harness_connect(srv);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	const char *data = req;
	size_t sent = 0;
	bool can_send = true;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	bool done = false, eof = false, shut = false;
	uint64_t deadline = now_ms() + (wrapper() ? 10 : 1) * RAW_TIMEOUT_MS;
	while (!done) {
		bool sending = can_send && sent < len;
		if (!sending && (flags & HARNESS_RAW_CLOSE))
			break;
		if (!sending && (flags & HARNESS_RAW_SHUT_WR) && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		uint64_t t = now_ms();
		if (t >= deadline)
			break;
		struct pollfd pfd = {.fd = fd,
				     .events = POLLIN | (sending ? POLLOUT : 0)};
		int pr = poll(&pfd, 1, (int)(deadline - t));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		if (sending && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				can_send = false; /* EPIPE, ECONNRESET: read what came */
		}
		if (flags & HARNESS_RAW_CLOSE)
			continue;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (cap - n < 65536) {
				cap = cap ? cap * 2 : 131072;
				char *nb = realloc(buf, cap);
				if (!nb)
					break;
				buf = nb;
			}
			ssize_t r = recv(fd, buf + n, cap - n, 0);
			if (r > 0) {
				n += (size_t)r;
				if (parse_raw(buf, n, false, out))
					done = true;
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				eof = true;
				done = true;
			}
		}
	}
	close(fd);
	if (!(flags & HARNESS_RAW_CLOSE)) {
		if (n)
			parse_raw(buf, n, eof, out);
		ensure_body(out);
	}
	free(buf);
}

/* ---- the store, read directly ---- */

long long harness_db_integer(const harness_server *srv, const char *sql)
{
	char buf[512];
	if (!teststore_query(srv->dir, sql, buf, sizeof(buf)))
		fail_msg("\"%s\" on the store of %s: %s", sql, srv->dir, buf);
	return strtoll(buf, NULL, 10);
}

long harness_count_reports(const harness_server *srv)
{
	return (long)harness_db_integer(srv, "SELECT count(*) FROM reports");
}

/* ---- other processes ---- */

/* Appends what fd has to *buf; false at its end (or on an error). */
static bool drain(int fd, char **buf, size_t *len, size_t *cap)
{
	if (*cap - *len < 65536) {
		size_t ncap = *cap ? *cap * 2 : 131072;
		char *nb = realloc(*buf, ncap + 1);
		if (!nb)
			fail_msg("out of memory reading a child's output");
		*buf = nb;
		*cap = ncap;
	}
	ssize_t r = read(fd, *buf + *len, *cap - *len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (r <= 0)
		return false;
	*len += (size_t)r;
	(*buf)[*len] = '\0';
	if (*len > PROC_OUTPUT_CAP)
		fail_msg("a child printed more than %u bytes", PROC_OUTPUT_CAP);
	return true;
}

static void describe_argv(const char *const *argv, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; argv[i] && o + 1 < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? " " : "", argv[i]);
}

bool harness_run(const char *const *argv, harness_proc *out)
{
	memset(out, 0, sizeof(*out));
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
		fail_msg("pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (rc != 0) {
		close(po[0]);
		close(pe[0]);
		if (rc == ENOENT)
			return false;
		fail_msg("cannot start %s: %s", argv[0], strerror(rc));
	}
	size_t ocap = 0, ecap = 0;
	bool oopen = true, eopen = true;
	uint64_t deadline = now_ms() + PROC_TIMEOUT_MS;
	while (oopen || eopen) {
		struct pollfd pfd[2] = {{.fd = oopen ? po[0] : -1, .events = POLLIN},
					{.fd = eopen ? pe[0] : -1, .events = POLLIN}};
		uint64_t t = now_ms();
		int pr = t < deadline ? poll(pfd, 2, (int)(deadline - t)) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(po[0]);
			close(pe[0]);
			char cmd[1024];
			describe_argv(argv, cmd, sizeof(cmd));
			fail_msg("%s: still running after %d ms (killed); stderr so far: "
				 "%.2000s",
				 cmd, PROC_TIMEOUT_MS, out->err ? out->err : "");
		}
		if (oopen && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			oopen = drain(po[0], &out->out, &out->out_len, &ocap);
		if (eopen && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			eopen = drain(pe[0], &out->err, &out->err_len, &ecap);
	}
	close(po[0]);
	close(pe[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status)) {
		out->exit_code = WEXITSTATUS(status);
	} else {
		out->exit_code = -1;
		out->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	if (!out->out)
		out->out = calloc(1, 1);
	else
		out->out[out->out_len] = '\0';
	if (!out->err)
		out->err = calloc(1, 1);
	else
		out->err[out->err_len] = '\0';
	return true;
}

void harness_cli(const char *const *args, harness_proc *out)
{
	const char *bin = getenv("SIGHTLINE_BIN");
	if (!bin || !*bin)
		fail_msg("SIGHTLINE_BIN is not set (run through meson test)");
	const char *argv[64];
	size_t n = 0;
	argv[n++] = bin;
	for (size_t i = 0; args[i]; i++) {
		if (n == sizeof(argv) / sizeof(argv[0]) - 1)
			fail_msg("too many arguments for %s", bin);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	if (!harness_run(argv, out))
		fail_msg("cannot start %s: not found", bin);
}

void harness_proc_expect(const char *ctx, const harness_proc *p, int want)
{
	if (p->exit_code == want)
		return;
	if (p->exit_code < 0)
		fail_msg(
		    "%s: ended by signal %d, expected exit %d\n--- stdout ---\n%.4000s"
		    "\n--- stderr ---\n%.8000s",
		    ctx, p->signal, want, p->out ? p->out : "", p->err ? p->err : "");
	fail_msg("%s: exit %d, expected %d\n--- stdout ---\n%.4000s\n--- stderr "
		 "---\n%.8000s",
		 ctx, p->exit_code, want, p->out ? p->out : "", p->err ? p->err : "");
}

void harness_proc_free(harness_proc *p)
{
	free(p->out);
	free(p->err);
	memset(p, 0, sizeof(*p));
}

json_t *harness_last_report(const harness_server *srv)
{
	const char *args[] = {"export", "--data", srv->dir, NULL};
	harness_proc p;
	harness_cli(args, &p);
	harness_proc_expect("export", &p, 0);
	char *last = p.out, *nl;
	while ((nl = strchr(last, '\n')) && nl[1])
		last = nl + 1;
	json_t *j = json_loads(last, JSON_DISABLE_EOF_CHECK, NULL);
	if (!json_is_object(j))
		fail_msg("export printed no report: %.2000s", p.out);
	harness_proc_free(&p);
	return j;
}

/* ---- moderators ---- */

void harness_passphrase(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "correct horse battery staple of %s", name);
}

void harness_passphrase_path(const harness_server *srv, const char *name, char *buf,
			     size_t size)
{
	snprintf(buf, size, "%s/passphrase-%s", srv->root, name);
}

void harness_write_passphrase(const char *path, const char *passphrase)
{
	char line[1100];
	int n = snprintf(line, sizeof(line), "%s\n", passphrase);
	harness_write_file(path, line, (size_t)n);
}

void harness_moderator_add(const harness_server *srv, const char *name, const char *role)
{
	char path[PATH_MAX], pass[256], ctx[PATH_MAX + 128];
	harness_passphrase_path(srv, name, path, sizeof(path));
	harness_passphrase(name, pass, sizeof(pass));
	harness_write_passphrase(path, pass);
	const char *args[] = {"moderator", "add",    name,     "--role",
			      role,	   "--data", srv->dir, "--passphrase-file",
			      path,	   NULL};
	harness_proc p;
	harness_cli(args, &p);
	snprintf(ctx, sizeof(ctx), "moderator add %s --role %s --data %s", name, role,
		 srv->dir);
	harness_proc_expect(ctx, &p, 0);
	harness_proc_free(&p);
}

void harness_unseal(const harness_server *srv, const char *name, const char *pass_file,
		    const char *photos_dir, long long id, harness_proc *out)
{
	char path[PATH_MAX], ids[32];
	if (pass_file)
		snprintf(path, sizeof(path), "%s", pass_file);
	else
		harness_passphrase_path(srv, name, path, sizeof(path));
	snprintf(ids, sizeof(ids), "%lld", id);
	const char *args[12] = {
	    "unseal", "--data", srv->dir, "--moderator", name, "--passphrase-file", path};
	size_t n = 7;
	if (photos_dir) {
		args[n++] = "--photos";
		args[n++] = photos_dir;
	}
	args[n++] = ids;
	args[n] = NULL;
	harness_cli(args, out);
}

/* ---- multipart bodies ---- */

static void mp_append(harness_multipart *m, const void *data, size_t len)
{
	if (m->cap - m->len < len + 1) {
		size_t ncap = m->cap ? m->cap : 4096;
		while (ncap - m->len < len + 1)
			ncap *= 2;
		char *nb = realloc(m->data, ncap);
		if (!nb)
			fail_msg("out of memory building a multipart body");
		m->data = nb;
		m->cap = ncap;
	}
	if (len)
		memcpy(m->data + m->len, data, len);
	m->len += len;
	m->data[m->len] = '\0';
}

void harness_multipart_init(harness_multipart *m)
{
	static unsigned counter;
	memset(m, 0, sizeof(*m));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(m->boundary, sizeof(m->boundary), "sl-test-%x-%lx-%x",
		 (unsigned)getpid(), (unsigned long)ts.tv_nsec,
		 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	mp_append(m, "", 0);
}

void harness_multipart_part(harness_multipart *m, const char *name, const char *filename,
			    const char *type, const void *data, size_t len)
{
	static const char cd[] = "Content-Disposition: form-data; name=\"";
	mp_append(m, "--", 2);
	mp_append(m, m->boundary, strlen(m->boundary));
	mp_append(m, "\r\n", 2);
	mp_append(m, cd, sizeof(cd) - 1);
	mp_append(m, name, strlen(name));
	mp_append(m, "\"", 1);
	if (filename) {
		mp_append(m, "; filename=\"", 12);
		mp_append(m, filename, strlen(filename));
		mp_append(m, "\"", 1);
	}
	mp_append(m, "\r\n", 2);
	if (type) {
		mp_append(m, "Content-Type: ", 14);
		mp_append(m, type, strlen(type));
		mp_append(m, "\r\n", 2);
	}
	mp_append(m, "\r\n", 2);
	mp_append(m, data, len);
	mp_append(m, "\r\n", 2);
}

void harness_multipart_raw(harness_multipart *m, const void *data, size_t len)
{
	mp_append(m, data, len);
}

void harness_multipart_end(harness_multipart *m)
{
	char tail[128];
	int n = snprintf(tail, sizeof(tail), "--%s--\r\n", m->boundary);
	mp_append(m, tail, (size_t)n);
}

void harness_multipart_free(harness_multipart *m)
{
	free(m->data);
	memset(m, 0, sizeof(*m));
}

void harness_post_multipart(const harness_server *srv, const char *path,
			    const harness_multipart *m, const char *const *headers,
			    harness_response *out)
{
	char ct[160];
	snprintf(ct, sizeof(ct), "Content-Type: multipart/form-data; boundary=%s",
		 m->boundary);
	const char *h[40];
	size_t n = 0;
	h[n++] = ct;
	for (size_t i = 0; headers && headers[i]; i++) {
		if (n == sizeof(h) / sizeof(h[0]) - 1)
			fail_msg("too many headers");
		h[n++] = headers[i];
	}
	h[n] = NULL;
	harness_request(srv, "POST", path, h, m->data, m->len, out);
}

/* ---- photos ---- */

/* Groups exiftool reports of any file, made up from the file itself. */
static bool group_is_intrinsic(const char *group)
{
	static const char *const ok[] = {"ExifTool", "System", "File", "Composite",
					 "JFIF"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(group, ok[i]) == 0)
			return true;
	return false;
}

/* Tag names that say who or where, in whatever group they turn up. */
static bool tag_is_identifying(const char *tag)
{
	static const char *const bad[] = {
	    "GPS",	 "Make",     "Model",	  "Serial",	     "Comment",
	    "Artist",	 "Author",   "Creator",	  "Owner",	     "Description",
	    "Copyright", "Software", "Thumbnail", "DateTimeOriginal"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcasestr(tag, bad[i]))
			return true;
	return false;
}

/* Appends to buf (of size, holding *o bytes), truncating at its end. */
__attribute__((format(printf, 4, 5))) static void appendf(char *buf, size_t size,
							  size_t *o, const char *fmt, ...)
{
	if (*o + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *o, size - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = *o + (size_t)n < size ? *o + (size_t)n : size - 1;
}

bool harness_photo_is_clean(const char *path, char *why, size_t why_size)
{
	const char *argv[] = {"exiftool", "-j", "-a", "-G1", "-n", path, NULL};
	harness_proc p;
	if (!harness_run(argv, &p))
		skip(); /* no exiftool: nothing to judge the photo by */
	why[0] = '\0';
	json_error_t jerr;
	json_t *doc = json_loadb(p.out, p.out_len, 0, &jerr);
	json_t *obj = json_array_get(doc, 0);
	if (p.exit_code != 0 || !json_is_object(obj)) {
		snprintf(why, why_size, "exiftool exit %d: %.300s %.300s", p.exit_code,
			 p.out, p.err);
		json_decref(doc);
		harness_proc_free(&p);
		return false;
	}
	long long width = json_integer_value(json_object_get(obj, "File:ImageWidth"));
	long long height = json_integer_value(json_object_get(obj, "File:ImageHeight"));
	const char *type = json_string_value(json_object_get(obj, "File:FileType"));
	size_t o = 0;
	if (!type || strcmp(type, "JPEG") != 0)
		appendf(why, why_size, &o, "FileType is %s, not JPEG; ",
			type ? type : "(absent)");
	if (width <= 0 || height <= 0)
		appendf(why, why_size, &o, "ImageWidth x ImageHeight is %lld x %lld; ",
			width, height);
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		const char *colon = strchr(key, ':');
		if (!colon)
			continue; /* SourceFile */
		char group[64];
		snprintf(group, sizeof(group), "%.*s", (int)(colon - key), key);
		const char *tag = colon + 1;
		bool intrinsic = group_is_intrinsic(group);
		/* The file's name, size, dates and permissions, and
		 * exiftool's version: nothing the photo carried. */
		if (intrinsic &&
		    (strcmp(group, "System") == 0 || strcmp(group, "ExifTool") == 0))
			continue;
		if (!intrinsic || tag_is_identifying(tag)) {
			char *val = json_dumps(v, JSON_ENCODE_ANY);
			appendf(why, why_size, &o, "%s = %.60s; ", key, val ? val : "?");
			free(val);
		}
	}
	json_decref(doc);
	harness_proc_free(&p);
	if (o >= 2 && why[o - 2] == ';')
		why[o - 2] = '\0';
	return o == 0;
}

/* ---- files ---- */

char *harness_read_file(const char *path, size_t *len)
{
	size_t n = 0;
	char *data = read_file(path, &n);
	if (!data)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	if (len)
		*len = n;
	return data;
}

void harness_write_file(const char *path, const void *data, size_t len)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	const char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			fail_msg("cannot write %s: %s", path, strerror(e));
		}
		done += (size_t)w;
	}
	if (close(fd) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

bool harness_file_contains(const char *path, const void *needle, size_t n)
{
	size_t len = 0;
	char *data = read_file(path, &len);
	if (!data)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	bool found = memmem(data, len, needle, n) != NULL;
	free(data);
	return found;
}

void harness_walk_files(const char *dir, void (*visit)(void *ud, const char *path),
			void *ud)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("opendir %s: %s", dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(sub, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			harness_walk_files(sub, visit, ud);
		else if (S_ISREG(st.st_mode))
			visit(ud, sub);
	}
	closedir(d);
}

void harness_expect_status(const harness_response *r, long want, const char *ctx)
{
	if (r->status != want)
		fail_msg("%s: status %ld, expected %ld; body: %.800s", ctx, r->status,
			 want, r->body ? r->body : "");
}

json_t *harness_body_json(const harness_response *r, const char *ctx)
{
	json_error_t err;
	json_t *doc = json_loadb(r->body ? r->body : "", r->body_len, 0, &err);
	if (!json_is_object(doc))
		fail_msg("%s: body is not a JSON object: %.500s", ctx, r->body);
	return doc;
}

const char *harness_str_field(json_t *doc, const char *key, const char *ctx)
{
	const char *v = json_string_value(json_object_get(doc, key));
	if (!v)
		fail_msg("%s: no string \"%s\" in %s", ctx, key,
			 json_dumps(doc, JSON_COMPACT));
	return v;
}

void harness_sign_in(const harness_server *srv, const char *name, harness_client *out)
{
	char pass[256];
	harness_passphrase(name, pass, sizeof(pass));
	json_t *req = json_pack("{s:s, s:s}", "name", name, "passphrase", pass);
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	static const char *const h[] = {"Content-Type: application/json", NULL};
	harness_response r;
	harness_request(srv, "POST", "/api/v1/session", h, body, strlen(body), &r);
	free(body);
	char ctx[128];
	snprintf(ctx, sizeof(ctx), "sign-in as %s", name);
	harness_expect_status(&r, 200, ctx);
	const char *sc = harness_response_header(&r, "Set-Cookie");
	size_t n = sc && strncmp(sc, "sl_session=", 11) == 0 ? strcspn(sc + 11, ";") : 0;
	if (n != HARNESS_TOKEN_LEN)
		fail_msg("%s: no session cookie of %d characters: %s", ctx,
			 HARNESS_TOKEN_LEN, sc ? sc : "(none)");
	memset(out, 0, sizeof(*out));
	memcpy(out->token, sc + 11, n);
	json_t *doc = harness_body_json(&r, ctx);
	snprintf(out->csrf, sizeof(out->csrf), "%s", harness_str_field(doc, "csrf", ctx));
	json_decref(doc);
	harness_response_free(&r);
	snprintf(out->cookie, sizeof(out->cookie), "Cookie: sl_session=%s", out->token);
	snprintf(out->csrf_h, sizeof(out->csrf_h), "X-CSRF-Token: %s", out->csrf);
}

long long harness_count_audit(const harness_server *srv, const char *action)
{
	char sql[160];
	if (action)
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM audit WHERE action = '%s'", action);
	else
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit");
	return harness_db_integer(srv, sql);
}

void harness_audit_verify(const harness_server *srv)
{
	const char *verify[] = {"audit", "verify", "--data", srv->dir, NULL};
	harness_proc p;
	harness_cli(verify, &p);
	harness_proc_expect("audit verify", &p, 0);
	harness_proc_free(&p);
}

void harness_mod_request(const harness_server *srv, const harness_client *cl, bool csrf,
			 const char *method, const char *path, const char *body,
			 harness_response *out)
{
	const char *h[4];
	size_t n = 0;
	if (cl)
		h[n++] = cl->cookie;
	if (cl && csrf)
		h[n++] = cl->csrf_h;
	if (body)
		h[n++] = "Content-Type: application/json";
	h[n] = NULL;
	harness_request(srv, method, path, h, body, body ? strlen(body) : 0, out);
}

json_t *harness_mod_call(const harness_server *srv, const harness_client *cl,
			 const char *method, const char *path, const char *body,
			 long want)
{
	harness_response r;
	bool change = strcmp(method, "GET") != 0;
	harness_mod_request(srv, cl, change, method, path, body, &r);
	char ctx[512];
	snprintf(ctx, sizeof(ctx), "%s %s %s", method, path, body ? body : "");
	harness_expect_status(&r, want, ctx);
	const char *cc = harness_response_header(&r, "Cache-Control");
	if (!cc || strcmp(cc, "no-store") != 0)
		fail_msg("%s: Cache-Control %s", ctx, cc ? cc : "(none)");
	json_t *doc = json_loadb(r.body, r.body_len, 0, NULL);
	harness_response_free(&r);
	if (doc && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

long long harness_event_of(const harness_server *srv, long long report_id)
{
	char sql[128];
	snprintf(sql, sizeof(sql),
		 "SELECT coalesce(max(event_id), 0) FROM event_reports WHERE report_id = %lld",
		 report_id);
	return harness_db_integer(srv, sql);
}

bool harness_eventually(bool (*cond)(void *), void *ud)
{
	for (int i = 0; i < 300; i++) {
		if (cond(ud))
			return true;
		usleep(50 * 1000);
	}
	return cond(ud);
}
