/*
 * harness.h — run the real sightline binary and talk HTTP to it.
 *
 * Integration tests start `$SIGHTLINE_BIN serve` on 127.0.0.1 port 0 in a
 * fresh temporary directory, read the port from its "listening on" line and
 * then speak to it the way clients do: through libcurl for ordinary requests
 * and through a raw socket for what no well-behaved client sends (truncated
 * bodies, header floods, malformed request lines). The server's stdout and
 * stderr go to a log file beside the data directory, so that tests can scan
 * the data directory and the log separately for anything that names a
 * client; the seizure test moves it inside, to scan everything at once.
 *
 * The server seals text, contact and photos to its moderators and refuses
 * them while it has none, so most tests first make the data directory with
 * harness_server_init, add a moderator with the real CLI
 * (harness_moderator_add), then start the server with harness_server_launch.
 * harness_cli runs any other command and captures what it prints; the
 * unseal helpers read sealed material back the way a moderator does.
 *
 * On PostgreSQL (tests/teststore.h) each data directory gets a database of
 * its own, named in DIR/sightline.json ({"store": URL}), so that the server
 * and every command given --data DIR use it.
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

#include <jansson.h>

typedef struct harness_server {
	pid_t pid; /* 0 when not running */
	uint16_t port;
	char root[1024]; /* mkdtemp directory holding data/ and the log */
	char dir[2048];	 /* the data directory given to --data */
	char log[2048];	 /* the server's stdout and stderr, appended; ROOT/server.log
			    unless changed between init and launch */
	char base[64];	 /* "http://127.0.0.1:PORT" */
	char *args[32];	 /* extra flags of the last start, owned */
	size_t n_args;
	bool shared; /* dir belongs to another server (harness_server_init_shared) */
} harness_server;

/* Creates a fresh root directory (mkdtemp) for srv with an empty data
 * directory ROOT/data (mode 0700) and keeps the extra server flags in args
 * (a NULL-terminated list, may be NULL), but starts nothing: the test may
 * add moderators, or point srv->log elsewhere (into the data directory, to
 * have it scanned with the rest), before harness_server_launch. */
void harness_server_init(harness_server *srv, const char *const *args);

/* harness_server_init for a second server on other's data directory (its
 * keys, and its database: several servers sharing one store), with a
 * root and log of its own. Cleaning srv up leaves the shared directory and
 * database to other. */
void harness_server_init_shared(harness_server *srv, const harness_server *other,
				const char *const *args);

/* Kills the server with SIGKILL (no shutdown at all: a crash) and reaps it. */
void harness_server_kill(harness_server *srv);

/* Starts the server on srv's directory with its flags. srv must be
 * stopped. Fails the test when the server does not announce its port
 * within 10 s. */
void harness_server_launch(harness_server *srv);

/* harness_server_init and harness_server_launch: a server with no
 * moderator. */
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

/* The number of rows in the table reports, read with a connection of its
 * own (SQLite, or the PostgreSQL database of srv: tests/teststore.h)
 * while the server runs. */
long harness_count_reports(const harness_server *srv);

/* The first column of the first row of sql (an integer), run on srv's
 * database with a connection of its own; the server may be running or
 * not. Fails the test on any error or when there is no row. The SQL must
 * mean the same to SQLite and PostgreSQL. */
long long harness_db_integer(const harness_server *srv, const char *sql);

/* The event report_id is in (by the engine's or a moderator's links; the
 * newest when several), read from srv's database; 0 when none. */
long long harness_event_of(const harness_server *srv, long long report_id);

/* Waits up to 15 s for cond(ud), asking every 50 ms. */
bool harness_eventually(bool (*cond)(void *), void *ud);
/* The report stored last, as `sightline export` writes it (caller
 * decrefs); fails the test when there is none. */
json_t *harness_last_report(const harness_server *srv);

/* ---- other processes ---- */

/* What a finished process left. */
typedef struct harness_proc {
	int exit_code; /* its exit status; -1 when a signal ended it */
	int signal;    /* the signal that ended it, or 0 */
	char *out;     /* stdout, NUL-terminated; out_len excludes the NUL */
	size_t out_len;
	char *err; /* stderr, the same way */
	size_t err_len;
} harness_proc;

/* Runs argv (argv[0] looked up in PATH; NULL-terminated) with stdin from
 * /dev/null and its stdout and stderr captured, and waits for it (killed,
 * and the test failed, after 120 s). Returns false with out zeroed when the
 * program cannot be started at all (not installed), so that a caller can
 * skip; any other failure fails the test. */
bool harness_run(const char *const *argv, harness_proc *out /* OUT */);

/* Runs `$SIGHTLINE_BIN args...` (args NULL-terminated, without the program
 * name) the same way; not finding the binary fails the test. The exit
 * status is not judged: see harness_proc_expect. */
void harness_cli(const char *const *args, harness_proc *out /* OUT */);

/* Fails the test, quoting what was run (ctx) and everything it printed,
 * unless p ended by exit with code want. */
void harness_proc_expect(const char *ctx, const harness_proc *p, int want);

/* Frees what p holds and zeroes it. */
void harness_proc_free(harness_proc *p);

/* ---- moderators ---- */

/* The passphrase the harness gives moderator name (at least 8 bytes). */
void harness_passphrase(const char *name, char *buf, size_t size);

/* The path of name's passphrase file, ROOT/passphrase-NAME: outside the data
 * directory, so that a scan of the data directory never sees it. */
void harness_passphrase_path(const harness_server *srv, const char *name, char *buf,
			     size_t size);

/* Writes the line passphrase to path, mode 0600 (replacing the file). */
void harness_write_passphrase(const char *path, const char *passphrase);

/* Writes name's passphrase file and runs `sightline moderator add NAME --role
 * ROLE --data DIR --passphrase-file FILE`; fails the test unless it exits 0.
 * Works while the server runs (it re-reads the moderators every 2 s) or
 * before it is launched. */
void harness_moderator_add(const harness_server *srv, const char *name, const char *role);

/* Runs `sightline unseal --data DIR --moderator NAME --passphrase-file FILE
 * [--photos photos_dir] ID` with name's passphrase file (or pass_file when
 * not NULL). The exit status is not judged. */
void harness_unseal(const harness_server *srv, const char *name, const char *pass_file,
		    const char *photos_dir, long long id, harness_proc *out /* OUT */);

/* ---- multipart/form-data bodies ---- */

/* A multipart body built part by part, well-formed or deliberately not. */
typedef struct harness_multipart {
	char boundary[72];
	char *data;
	size_t len, cap;
} harness_multipart;

/* An empty body with a fresh boundary. */
void harness_multipart_init(harness_multipart *m);

/* Appends one part: its delimiter line, Content-Disposition with name and
 * (if not NULL) filename, Content-Type (if not NULL), and len bytes of data. */
void harness_multipart_part(harness_multipart *m, const char *name, const char *filename,
			    const char *type, const void *data, size_t len);

/* Appends len bytes as they are (for broken bodies). */
void harness_multipart_raw(harness_multipart *m, const void *data, size_t len);

/* Appends the closing delimiter. */
void harness_multipart_end(harness_multipart *m);

void harness_multipart_free(harness_multipart *m);

/* POSTs m to path as multipart/form-data with its boundary, plus the extra
 * headers (NULL-terminated, may be NULL). */
void harness_post_multipart(const harness_server *srv, const char *path,
			    const harness_multipart *m, const char *const *headers,
			    harness_response *out /* OUT */);

/* ---- photos ---- */

/* Checks with exiftool that the file at path is an image that decodes to
 * ImageWidth x ImageHeight > 0 and carries no metadata: no tag outside the
 * groups exiftool makes up itself (ExifTool, System, File, Composite, JFIF),
 * and no GPS, Make, Model, serial number, comment, artist or description
 * anywhere. Returns false with the offending tags (or the reason) in why.
 * Calls skip() with a message when exiftool is not installed. */
bool harness_photo_is_clean(const char *path, char *why, size_t why_size);

/* The whole file at path (NUL-terminated; caller frees). Fails the test
 * when it cannot be read. */
char *harness_read_file(const char *path, size_t *len /* OUT, may be NULL */);

/* Writes len bytes to path (mode 0600, replacing it). */
void harness_write_file(const char *path, const void *data, size_t len);

/* True when the needle of n bytes occurs anywhere in the file at path
 * (binary-safe). Fails the test when the file cannot be read. */
bool harness_file_contains(const char *path, const void *needle, size_t n);

/* Fails the test unless r has status want, printing ctx and the body. */
void harness_expect_status(const harness_response *r, long want, const char *ctx);

/* r's body as a JSON object (caller decrefs); fails the test otherwise. */
json_t *harness_body_json(const harness_response *r, const char *ctx);

/* The string member key of doc; fails the test when there is none. */
const char *harness_str_field(json_t *doc, const char *key, const char *ctx);

/* ---- moderators' sessions ---- */

#define HARNESS_TOKEN_LEN 43 /* a session or CSRF token: 32 bytes, base64url */

/* A signed-in moderator as a client holds it. */
typedef struct harness_client {
	char token[HARNESS_TOKEN_LEN + 1];
	char csrf[HARNESS_TOKEN_LEN + 1];
	char cookie[96]; /* "Cookie: sl_session=TOKEN" */
	char csrf_h[96]; /* "X-CSRF-Token: CSRF" */
} harness_client;

/* Signs name in through POST /api/v1/session with the harness's
 * passphrase for it; fails the test unless that is 200 with a session
 * cookie and a CSRF token. */
void harness_sign_in(const harness_server *srv, const char *name, harness_client *out);

/* How many entries of srv's audit log have action (NULL: all of them),
 * read from its database. */
long long harness_count_audit(const harness_server *srv, const char *action);

/* Runs `sightline audit verify --data DIR` on srv's data directory and
 * fails the test unless it exits 0 (the log is intact). */
void harness_audit_verify(const harness_server *srv);

/* Calls visit for every regular file under dir, recursively. */
void harness_walk_files(const char *dir, void (*visit)(void *ud, const char *path),
			void *ud);

/* ---- moderators' API ---- */

/* A request as cl (NULL: anonymous) with the CSRF header when csrf, and
 * body (NULL: none) as application/json. */
void harness_mod_request(const harness_server *srv, const harness_client *cl, bool csrf,
			 const char *method, const char *path, const char *body,
			 harness_response *out);

/* harness_mod_request with CSRF on every method but GET, expecting status
 * want and Cache-Control: no-store; returns the body when it is a JSON
 * object (caller decrefs), else NULL. */
json_t *harness_mod_call(const harness_server *srv, const harness_client *cl,
			 const char *method, const char *path, const char *body,
			 long want);

#endif
