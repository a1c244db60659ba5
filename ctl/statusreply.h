/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl status's pure parts: a STATUS reply (common/ctlproto.h) read
 * into struct echod_status, and its summary for people. No I/O but the
 * FILE given, so cmocka tests them without a socket.
 */
#ifndef CHATCTL_STATUSREPLY_H
#define CHATCTL_STATUSREPLY_H

#include <stddef.h>
#include <stdio.h>

struct echod_status;

/*
 * Read reply[0..n) (untrusted: any bytes, no NUL needed) into *out. It
 * must be one line (an LF only at its end) shorter than
 * ECHOD_CTL_MAX_REPLY, a JSON object without duplicate keys, with every
 * member of ECHOD_STATUS_FIELDS and ECHOD_STATUS_LIMITS of its type and
 * within its bound (cluster is optional: see ctlproto.h); members it does
 * not know are ignored. Returns 0, or
 * -1 with *out zeroed and the reason in err ("the reply lacks engine_pid,
 * limits.backlog"), safe to print: what it quotes is term_escape'd.
 */
int statusreply_parse(const char *reply, size_t n, struct echod_status *out,
    char *err, size_t errlen);

/* The summary of st for people; every string in it is term_escape'd. */
void statusreply_print(FILE *f, const struct echod_status *st);

#endif
