/*
 * harness.h — run the real sightline binary and talk HTTP to it.
 *
 * Integration tests start `$SIGHTLINE_BIN serve` on 127.0.0.1 port 0 in a
 * fresh temporary directory, read the port from its "listening on" line and
 * then speak to it the way clients do: through libcurl for ordinary requests
 * and through a raw socket for what no well-behaved client sends (truncated
 * bodies, header floods, malformed request lines). The server's stdout and
 * stderr go to a log file beside the data directory, never inside it, so that
 * tests can scan the data directory and the log separately for anything that
 * names a client.
 *
 * The helpers fail loudly (a cmocka failure with the reason) rather than
 * returning error codes the caller might forget to check.
 */
#ifndef SIGHTLINE_TEST_HARNESS_H
#define SIGHTLINE_TEST_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct harness_server {
	pid_t pid; /* 0 when not running */
	uint16_t port;
	char root[1024]; /* mkdtemp directory holding data/ and the log */
	char dir[2048];	 /* the data directory given to --data */
	char log[2048];	 /* the server's stdout and stderr, appended */
	char base[64];	 /* "http://127.0.0.1:PORT" */
	char *args[32];	 /* extra flags of the last start, owned */
	size_t n_args;
} harness_server;

/* Creates a fresh root directory (mkdtemp) for srv and starts the server in
 * it with the extra flags in args (a NULL-terminated list, may be NULL).
 * Fails the test when the server does not announce its port within 10 s. */
void harness_server_start(harness_server *srv, const char *const *args);

/* Starts the server again on srv's directory, with the flags of the last
 * start. srv must be stopped. */
void harness_server_restart(harness_server *srv);

/* Sends SIGTERM and waits up to 20 s. Returns the raw waitpid status, or -1
 * when the server had to be killed (it then has been killed). Does not fail
 * the test; see harness_server_stop_ok. */
int harness_server_stop(harness_server *srv);

/* harness_server_stop and fails the test unless the server exited 0. */
void harness_server_stop_ok(harness_server *srv);

/* Fails the test when the server process has died. */
void harness_server_assert_alive(harness_server *srv);

/* Stops the server if it is running and removes the root directory. Safe on
 * a zeroed srv. */
void harness_server_cleanup(harness_server *srv);

/* The whole server log read into memory (NUL-terminated; caller frees). */
char *harness_server_log(const harness_server *srv, size_t *len /* OUT */);

/* One HTTP header of a response. */
typedef struct harness_header {
	char *name;
	char *value;
} harness_header;

/* A response as received. status is 0 when no response came at all (the
 * connection was closed or reset without one). */
typedef struct harness_response {
	long status;
	harness_header *headers;
	size_t n_headers;
	char *body; /* NUL-terminated; body_len excludes the NUL */
	size_t body_len;
} harness_response;

/* Frees what r holds and zeroes it. */
void harness_response_free(harness_response *r);

/* The value of the first header called name (case-insensitive), or NULL.
 * The string belongs to r. */
const char *harness_response_header(const harness_response *r, const char *name);

/* Performs one request with libcurl: method ("GET", "POST", "PUT" ...) on
 * path (sent as is, no dot-segment folding), with the extra headers in
 * headers ("Name: value", NULL-terminated, may be NULL; "Name:" removes a
 * header curl would add) and len bytes of body (body NULL: none). Fails the
 * test on a transport error. */
void harness_request(const harness_server *srv, const char *method, const char *path,
		     const char *const *headers, const void *body, size_t len,
		     harness_response *out /* OUT */);

/* The same, but a transport error (refused, reset, timeout) returns false
 * with the reason in why instead of failing the test: for worker threads,
 * where cmocka's failures must not be raised, and for a server that is
 * shutting down. */
bool harness_try_request(const harness_server *srv, const char *method, const char *path,
			 const char *const *headers, const void *body, size_t len,
			 harness_response *out /* OUT */, char *why, size_t why_size);

/* Frees the calling thread's libcurl handle; each thread that made requests
 * calls it before it ends (the main thread too, at exit). */
void harness_thread_done(void);

/* POST path with Content-Type: application/json and body. */
void harness_post_json(const harness_server *srv, const char *path, const char *body,
		       harness_response *out /* OUT */);

/* GET path. */
void harness_get(const harness_server *srv, const char *path,
		 harness_response *out /* OUT */);

enum {
	/* Close the socket right after sending; read nothing (out is zeroed). */
	HARNESS_RAW_CLOSE = 1u << 0,
	/* Half-close (shutdown SHUT_WR) once all is sent, so that a server
	 * waiting for more of an incomplete request sees the end of it. */
	HARNESS_RAW_SHUT_WR = 1u << 1,
};

/* Connects to srv, sends the len bytes at req as they are, and reads one
 * response (until it is complete, the peer closes, or 10 s pass). Sending
 * and reading interleave, so an early answer to a request the server stops
 * reading is still seen. A reset or refused send is not a failure: the
 * response then has what arrived, status 0 if nothing. */
void harness_raw(const harness_server *srv, const void *req, size_t len, unsigned flags,
		 harness_response *out /* OUT */);

/* A plain TCP connection to srv (blocking); the caller closes it. */
int harness_connect(const harness_server *srv);

/* Waits up to ms for the peer to close fd (end of stream or reset),
 * discarding anything it sends. True when it closed in time. */
bool harness_wait_closed(int fd, unsigned ms);

/* The number of rows in the table reports, read through SQLite read-only
 * while the server runs. */
long harness_count_reports(const harness_server *srv);

/* True when the needle of n bytes occurs anywhere in the file at path
 * (binary-safe). Fails the test when the file cannot be read. */
bool harness_file_contains(const char *path, const void *needle, size_t n);

/* Calls visit for every regular file under dir, recursively. */
void harness_walk_files(const char *dir, void (*visit)(void *ud, const char *path),
			void *ud);

#endif
