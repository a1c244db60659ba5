/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HOST[:PORT] as typed on chatctl's command line. Checked before any DNS
 * lookup, so that a typo is a usage error (exit 2), not a connection error.
 * Pure: no DNS, no I/O.
 */
#ifndef CHATCTL_TARGET_H
#define CHATCTL_TARGET_H

#include <stddef.h>

#define TARGET_HOST_MAX 255 /* longest DNS name */

struct target {
	char host[TARGET_HOST_MAX + 1]; /* without brackets */
	char port[6]; /* decimal, 1 to 65535 */
	char label[TARGET_HOST_MAX + 10]; /* "host:port", "[v6]:port" */
};

/*
 * Parse "host", "host:port", "[v6addr]", "[v6addr]:port" or a bare IPv6
 * literal ("::1"); the port defaults to defport. The port must be a number
 * from 1 to 65535 (no service names: "host:echo" is more likely a typo).
 * Returns 0, or -1 with a message in err ("host:0: port 0 is not between
 * 1 and 65535").
 */
int target_parse(const char *in, const char *defport, struct target *t,
    char *err, size_t errlen);

#endif
