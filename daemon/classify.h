/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PROTOCOL.md section 1: is a new connection echo or chat? A pure function
 * of the bytes received so far and whether the greeting wait has passed.
 */
#ifndef ECHOD_CLASSIFY_H
#define ECHOD_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum classify_result { CLASSIFY_ECHO, CLASSIFY_CHAT, CLASSIFY_NEED_MORE };

enum classify_result classify(const char *buf, size_t n, bool wait_over);

/*
 * Before any of that, a connection must send its first byte: echod never
 * speaks first, so until then it only holds a worker. Microseconds it may
 * still wait, elapsed_usec after accept, under [server] first_byte_timeout
 * (seconds, 0: off); 0 when the time is up. -1 when no such limit applies:
 * off, or idle_timeout (seconds, 0: never) ends the wait first anyway.
 */
int64_t classify_first_byte_left(unsigned first_byte_timeout,
    unsigned idle_timeout, int64_t elapsed_usec);

#endif
