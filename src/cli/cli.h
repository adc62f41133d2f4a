/*
 * cli.h — what the files of the `sightline` command share: the parsed
 * options and the few helpers every subcommand uses.
 */
#ifndef SIGHTLINE_CLI_H
#define SIGHTLINE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "sightline/server.h"
#include "sightline/store.h"

typedef struct options {
	const char *data;
	const char *config;
	const char *format;
	const char *what;
	const char *out;
	bool quiet;
	const char *role;
	const char *passphrase_file;
	const char *since;
	const char *admin;
	const char *moderator;
	const char *photos;
	bool all;
	sl_server_config server;
	char host[256];
	char *owned[32]; /* strings from the config file, freed at exit */
	size_t n_owned;
} options;

/* Prints "sightline: " and the message to stderr; returns 2 (the exit code
 * of a usage or runtime error). */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the store of o->data; 0, or 2 after saying why. */
int open_store(const options *o, sl_store **store);

/* The subcommands of keys.c. */
int cmd_moderator_add(options *o, int argc, char **argv);
int cmd_moderator_list(options *o, int argc, char **argv);
int cmd_moderator_remove(options *o, int argc, char **argv);
int cmd_moderator_share(options *o, int argc, char **argv);
int cmd_unseal(options *o, int argc, char **argv);
int cmd_purge(options *o, int argc, char **argv);
int cmd_media_clean(options *o, int argc, char **argv);

#endif
