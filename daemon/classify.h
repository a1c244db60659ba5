/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PROTOCOL.md section 1: is a new connection echo or chat? A pure function
 * of the bytes received so far and whether the greeting wait has passed.
 */
#ifndef ECHOD_CLASSIFY_H
#define ECHOD_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

enum classify_result { CLASSIFY_ECHO, CLASSIFY_CHAT, CLASSIFY_NEED_MORE };

enum classify_result classify(const char *buf, size_t n, bool wait_over);

#endif
