/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl: the command-line companion of echod. Each command lives in its
 * own file; this header is what they share.
 */
#ifndef CHATCTL_H
#define CHATCTL_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses: clean end, connection (or server) error, usage error. */
enum { EXIT_OK = 0, EXIT_CONN = 1, EXIT_USAGE = 2 };

/* Each command gets argv after its name; returns an exit status. */
int cmd_talk(int argc, char **argv);
int cmd_who(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_reload(int argc, char **argv);

/* "usage: chatctl <command> ..." for one command, on stderr; returns 2. */
int usage_of(const char *command);

struct target;

/*
 * Connect to a parsed HOST[:PORT] (target.h), trying every address
 * getaddrinfo gives, in order, with a timeout per address. Returns a
 * blocking socket, or -1 after printing "chatctl: HOST:PORT: reason".
 */
int net_connect(const struct target *t, int timeout_ms);

#endif
