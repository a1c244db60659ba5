/* SPDX-License-Identifier: GPL-3.0-or-later */
/* HOST[:PORT] parsing for chatctl's commands (see target.h). */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "target.h"
#include "util.h"

int
target_parse(const char *in, const char *defport, struct target *t, char *err,
    size_t errlen)
{
	char port[16], why[96];
	uint64_t v;

	memset(t, 0, sizeof(*t));
	if (addr_split_hostport(in, defport, t->host, sizeof(t->host), port,
		sizeof(port), err, errlen) == -1)
		return -1;
	/* A space or control character is in no host name or address. */
	for (const char *p = t->host; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, errlen, "%.60s: bad host name", in);
			return -1;
		}
	}
	if (parse_uint(port, 1, 65535, &v, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%.60s: port %s", in, why);
		return -1;
	}
	snprintf(t->port, sizeof(t->port), "%u", (unsigned)v);
	snprintf(t->label, sizeof(t->label),
	    strchr(t->host, ':') != NULL ? "[%s]:%s" : "%s:%s", t->host,
	    t->port);
	return 0;
}
