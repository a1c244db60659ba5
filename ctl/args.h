/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Options and the HOST[:PORT] operand of talk, who and ping, with the same
 * usage errors everywhere (exit status 2).
 */
#ifndef CHATCTL_ARGS_H
#define CHATCTL_ARGS_H

#include "target.h"

/*
 * getopt over a command's arguments (argv[0] is the command's name);
 * options may come before or after HOST. opts as for getopt, without a
 * leading ':'. Returns the option letter (optarg set), 'h' for -h and
 * --help, -1 when done, or '?' after printing a usage error.
 */
int args_next(const char *cmd, int argc, char **argv, const char *opts);

/*
 * After args_next returned -1: exactly one operand, HOST[:PORT]. Returns
 * 0 with *t filled, or -1 after printing a usage error.
 */
int args_target(const char *cmd, int argc, char **argv, struct target *t);

/*
 * The value of -n (what = "nick") or -r ("room"): 0 if it is a valid
 * CHAT/1 name, else a usage error naming the option and the rule; 2.
 */
int args_name(const char *cmd, char opt, const char *what,
    const char *value);

/* "chatctl CMD: message" and the command's usage line; returns 2. */
int args_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
