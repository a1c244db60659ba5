/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Options and operands of every command, parsed from the grammar's tables
 * (grammar.h), with the same usage errors everywhere: "chatctl: CMD:
 * what was wrong", the command's usage line, exit status 2.
 */
#ifndef CHATCTL_ARGS_H
#define CHATCTL_ARGS_H

#include <stdint.h>

#include "target.h"

/*
 * getopt_long over a command's arguments (argv[0] is the command's name),
 * with the options the grammar gives cmd; options may come before or
 * after operands. Returns the option's letter or OPT_* (optarg set), 'h'
 * for -h and --help, -1 when done, or '?' after printing a usage error.
 */
int args_next(const char *cmd, int argc, char **argv);

/* -h: cmd's help on stdout; returns the exit status (0). */
int args_help(const char *cmd);

/*
 * After args_next returned -1: exactly one operand, HOST[:PORT]. Returns
 * 0 with *t filled, or -1 after printing a usage error.
 */
int args_target(const char *cmd, int argc, char **argv, struct target *t);

/* After args_next returned -1: no operand. 0, or -1 after a usage error. */
int args_none(const char *cmd, int argc, char **argv);

/*
 * The value of -n (what = "nick") or -r ("room"): 0 if it is a valid
 * CHAT/1 name, else a usage error naming the option and the rule; 2.
 */
int args_name(const char *cmd, char opt, const char *what,
    const char *value);

/* An unsigned number between min and max for option opt: 0, or 2. */
int args_uint(const char *cmd, char opt, const char *value,
    uint64_t min, uint64_t max, uint64_t *out);

/* "chatctl: CMD: message" and the command's usage line; returns 2. */
int args_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
