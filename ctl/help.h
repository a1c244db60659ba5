/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl's help texts, made from the grammar (grammar.h): the synopsis
 * of a command, its --help, and chatctl --help. Every line fits in 80
 * columns (a unit test checks). Output goes to the FILE given: stdout for
 * --help, stderr after a usage error.
 */
#ifndef CHATCTL_HELP_H
#define CHATCTL_HELP_H

#include <stdio.h>

#include "grammar.h"

#define HELP_COLUMNS 80

/* "chatctl ping HOST[:PORT] [-c COUNT] [-S SIZE]", no LF. */
void help_synopsis(FILE *f, const struct grammar_cmd *c);
/* "usage: " and the synopsis, one line. */
void help_usage(FILE *f, const struct grammar_cmd *c);
/* A command's --help: synopsis, what it does, options, exit status. */
void help_command(FILE *f, const struct grammar_cmd *c);
/* chatctl --help: every command, the common options, exit statuses. */
void help_all(FILE *f);

/* "chatctl: unknown command "x"; valid commands: talk ..." on stderr;
 * nmatch from grammar_command (more than 0: ambiguous). */
void help_unknown(const char *word, size_t nmatch);

#endif
