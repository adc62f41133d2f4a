/*
 * fuzz.h — what the fuzz targets (fuzz/<target>.c) share.
 *
 * Every target defines LLVMFuzzerTestOneInput, libFuzzer's entry point:
 * one input in, no state kept between inputs that could change what the
 * next one does (or, where a server must stay up between inputs, nothing
 * that changes its answers). The same file links two ways (fuzz/meson.build):
 * with libFuzzer (clang, -fsanitize=fuzzer) for `make fuzz`, and with
 * replay.c, a main of our own that feeds every file of the target's seed
 * corpus to it, for `make check` — in the normal and the ASan+UBSan builds.
 *
 * A target aborts (fuzz_fail) when the code under test breaks a promise
 * that no sanitizer sees: a report that reaches the store without passing
 * sl_report_validate, a 500 or no answer from the server, a parser that
 * says SL_OK and hands back garbage. libFuzzer keeps the input that did it.
 *
 * The helpers: a store in memory (the few store functions the import
 * readers and sealing call, and every report it is given checked again),
 * one moderator's public key for sealing, and a real sightline server in
 * this process, on a loopback port, for the parsers that only exist inside
 * libmicrohttpd's request path (multipart bodies, the web form).
 */
#ifndef SIGHTLINE_FUZZ_H
#define SIGHTLINE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "sightline/store.h"

/* The fixed clock of every target: 2022-10-10T12:00:00Z, so that what an
 * input means never depends on when it runs. */
#define FUZZ_NOW 1665403200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Called once before the first input by replay.c, as libFuzzer does. A
 * target that needs no set-up does not define it. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Stops and frees what a target made for all its inputs, so that a leak
 * check at exit sees only real leaks (replay.c calls it after the last
 * input; libFuzzer never does). */
void fuzz_cleanup(void);

/* Prints what broke and aborts: a finding. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* libsodium and libvips set up, once. */
void fuzz_init_libs(void);

/* A fresh private temporary directory (under $TMPDIR, else /dev/shm when
 * it exists — its fsync is free — else /tmp) into buf; aborts when it
 * cannot be made. rm -r of it at exit is the caller's (fuzz_rmtree). */
void fuzz_tmpdir(char *buf, size_t size);
void fuzz_rmtree(const char *path);

/* A store in memory: one moderator (a fixed key pair, so that text and
 * contact are sealed as on a real server), put_reports that checks every
 * report with sl_report_validate at FUZZ_NOW and keeps none of them, and
 * nothing else (any other store call aborts). Free with sl_store_close. */
sl_store *fuzz_mem_store(void);

/* How many reports fuzz_mem_store stores have been given, all together. */
size_t fuzz_mem_store_count(void);

/* The built-in towns and a small fixed station list (Orsha, Baranavichy,
 * Maladzyechna, Kalodzishchy), made once, as the web form and the bot
 * resolve places with; fuzz_gazetteer_free frees them (fuzz_cleanup). */
struct sl_gazetteer;
const struct sl_gazetteer *fuzz_gazetteer(void);
void fuzz_gazetteer_free(void);

/* ---- a real server in this process ---- */

/* Starts, once, `sightline serve` as cmd_serve would, in-process: a
 * SQLite store in a fuzz_tmpdir, one moderator, the receipt key and the
 * audit log, rate limits off, no engine, one worker thread; the towns
 * and no station list. Returns its port. */
uint16_t fuzz_server_port(void);

/* Stops the server and removes its directory (for fuzz_cleanup). serve.c,
 * linked into the targets that use the server, starts it in
 * LLVMFuzzerInitialize and stops it in fuzz_cleanup. */
void fuzz_server_stop(void);

/* Sends the request head (lines ending "\r\n", without the blank line and
 * Content-Length, which are added) and len bytes of body to the server on
 * a new connection, with "Connection: close", and reads the answer to its
 * end. Returns the status, or aborts when there is none within 30 s or it
 * is a 5xx other than 503 (a 500 is a bug; a 503 is the server saying it
 * is busy, which it may). */
int fuzz_server_request(const char *head, const uint8_t *body, size_t len);

/* The same, with the answer's first cap - 1 bytes, head and body, in
 * answer (NUL-terminated). */
int fuzz_server_exchange(const char *head, const uint8_t *body, size_t len, char *answer,
			 size_t cap);

/* Adds an admin to the server (a real key, wrapped by a passphrase) and
 * signs in as it, once: headers gets "Cookie: ...\r\nX-CSRF-Token:
 * ...\r\n", for the requests of its session. */
void fuzz_server_admin(char *headers, size_t size);

#endif
