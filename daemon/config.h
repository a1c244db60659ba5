/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * echod's configuration: /etc/echod.ini, parsed with inih.
 *
 * Parsing fills a fresh struct config from defaults plus the file and
 * collects every problem with its line number; nothing global changes until
 * the caller has a whole, valid struct. The struct holds no pointers, so it
 * is copied by value and inherited by workers as is.
 */
#ifndef ECHOD_CONFIG_H
#define ECHOD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CONFIG_DEFAULT_PATH "/etc/echod.ini"
#define CONFIG_MAX_FILE (4 * 1024 * 1024)
#define CONFIG_MAX_ERRORS 32

/* Hard ceiling for max_connections: sizes the shared slot table. */
#define ECHOD_MAX_CONNECTIONS 100000
#define ECHOD_MAX_SPARES 64

/* [log] connections: no lines, the close line only, or accept and close. */
enum log_connections { LOG_CONN_NO, LOG_CONN_CLOSE, LOG_CONN_YES };

/* One proxy_trusted entry: an address and prefix, IPv4 as IPv4-mapped
 * IPv6 (addr_key form) with prefix + 96. */
#define CONFIG_MAX_CIDRS 16
struct config_cidr {
	uint8_t addr[16];
	uint8_t prefix; /* 0..128 */
};

/*
 * Does the 16-byte key (addr.h's addr_key) lie in one of the n ranges?
 * Inline: the engine, which links no config parser, asks it per accept.
 */
static inline bool
config_cidr_match(const struct config_cidr *c, unsigned n,
    const uint8_t key[16])
{
	for (unsigned i = 0; i < n && i < CONFIG_MAX_CIDRS; i++) {
		unsigned bits = c[i].prefix > 128 ? 128 : c[i].prefix;
		unsigned whole = bits / 8, rest = bits % 8;

		if (memcmp(c[i].addr, key, whole) != 0)
			continue;
		if (rest != 0 && ((c[i].addr[whole] ^ key[whole]) &
		    (uint8_t)(0xff << (8 - rest))) != 0)
			continue;
		return true;
	}
	return false;
}

struct config {
	char path[PATH_MAX];

	/* [server] */
	char bind[256];
	uint16_t port;
	unsigned backlog;
	unsigned max_connections;
	unsigned max_per_source;
	unsigned ipv6_prefix;      /* leading bits of IPv6 that name a source */
	unsigned first_byte_timeout; /* seconds, 0 = off */
	unsigned idle_timeout;     /* seconds, 0 = never */
	unsigned shutdown_timeout; /* seconds */
	unsigned spares;           /* pre-forked idle workers */
	bool freebind;             /* bind addresses not (yet) on the host */
	/* PROXY protocol v1/v2 (proxyproto.h): only from proxy_trusted. */
	bool proxy_protocol;
	unsigned nproxy_trusted;
	struct config_cidr proxy_trusted[CONFIG_MAX_CIDRS];

	/* [chat] */
	bool chat_enabled;
	char default_room[33];
	unsigned max_line;    /* bytes, LF excluded */
	unsigned max_backlog; /* bytes */
	unsigned max_rooms;
	unsigned max_members_per_room;
	unsigned greeting_wait; /* milliseconds */
	/* A member's MSG, ME, NICK and JOIN lines (ratelimit.h); 0: off. */
	unsigned rate_lines;       /* lines per second */
	unsigned rate_bytes;       /* bytes per second */
	unsigned rate_burst_lines; /* lines at once */
	unsigned rate_burst_bytes; /* bytes at once */
	/* Room history (history.h): lines and bytes per room, all rooms. */
	unsigned history;	/* lines per room, 0 = off */
	unsigned history_bytes; /* bytes per room */
	unsigned history_total; /* bytes of all rooms, headers included */
	/* Rooms of more members get JOINS/PARTS (crowd.h); 0: never. */
	unsigned crowd;		 /* members */
	unsigned crowd_interval; /* milliseconds between a room's notices */

	/* [cluster]: empty redis = one host, no Redis (cluster.h) */
	char cluster_redis[128]; /* "HOST:PORT" (numeric or localhost) or
				    "unix:/PATH", as written */
	char cluster_node[64];	 /* "" = the host name and port */

	/* [log] */
	int log_connections; /* enum log_connections */
	bool log_peer_addresses;
	int log_level; /* syslog priority: LOG_ERR .. LOG_DEBUG */

	/* [control] */
	char control_socket[108];
	unsigned control_mode; /* permission bits */
};

struct config_error {
	unsigned line; /* 0: about the file as a whole */
	char key[40];  /* "port", "[servr]", or "" */
	char msg[200];
};

struct config_errors {
	unsigned n;
	unsigned dropped; /* problems beyond CONFIG_MAX_ERRORS */
	struct config_error e[CONFIG_MAX_ERRORS];
};

void config_defaults(struct config *cfg);

/*
 * Parse INI text (name is used in messages only). cfg must hold defaults
 * (config_defaults) or a base to override. Returns the number of problems
 * found (0: cfg is valid), each recorded in errs.
 */
unsigned config_parse_buffer(const char *name, const char *data, size_t len,
    struct config *cfg, struct config_errors *errs);

/*
 * Read and parse path (a regular file of at most CONFIG_MAX_FILE bytes).
 * Returns the number of problems; a missing file is one problem with
 * line 0 and *missing set, so the caller may choose built-in defaults.
 */
unsigned config_load(const char *path, struct config *cfg,
    struct config_errors *errs, bool *missing);

/* "FILE:LINE: key: message" (or "FILE: message" for line 0). */
void config_error_format(const char *name, const struct config_error *e,
    char *buf, size_t cap);

/* "info", "warning", ... for a syslog priority. */
const char *config_level_name(int level);

/*
 * Every string of a config that came from another process ends in NUL
 * where its array does: a copy is never read past its end.
 */
static inline void
config_terminate(struct config *cfg)
{
	cfg->path[sizeof(cfg->path) - 1] = '\0';
	cfg->bind[sizeof(cfg->bind) - 1] = '\0';
	cfg->default_room[sizeof(cfg->default_room) - 1] = '\0';
	cfg->control_socket[sizeof(cfg->control_socket) - 1] = '\0';
}

#endif
