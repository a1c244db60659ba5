/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl: the command-line companion of echod. Each command lives in its
 * own file; this header is what they share.
 */
#ifndef CHATCTL_H
#define CHATCTL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Exit statuses: success, any other error, a usage error, and echod not
 * running (nobody at the control socket, or a host refusing the
 * connection), as systemctl uses 3 for a unit that is not active.
 */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3 };

/* Each command gets argv after its name; returns an exit status. */
int cmd_talk(int argc, char **argv);
int cmd_who(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_help(int argc, char **argv);

struct target;

/*
 * Connect to a parsed HOST[:PORT] (target.h), trying every address
 * getaddrinfo gives, in order, with a timeout per address. Returns a
 * blocking socket, or -1 after printing "chatctl: CMD: cannot connect to
 * HOST:PORT: reason", errno that of the last address (0 if the name did
 * not resolve).
 */
int net_connect(const struct target *t, int timeout_ms);

/* The exit status for a connection that failed with errno e. */
int net_exit_status(int e);

#endif
