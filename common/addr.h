/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Socket address helpers shared by echod and chatctl. Pure functions: no
 * DNS, no logging.
 */
#ifndef ECHOD_ADDR_H
#define ECHOD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Enough for "[ffff:...:ffff%ifname]:65535". */
#define ADDR_STRLEN 72

/* "192.0.2.1:5188" or "[2001:db8::1]:5188"; "?" for other families. */
void addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t cap);
/* Host part only: "192.0.2.1" or "2001:db8::1" (IPv4-mapped shown as v4). */
void addr_format_host(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t cap);
/* Port in host order, 0 if not an inet address. */
uint16_t addr_port(const struct sockaddr *sa);

/*
 * A source key identifies the client host for per-source limits: 16 bytes,
 * IPv4 and IPv4-mapped IPv6 give the same key, so a dual-stack listener
 * cannot be used to double a client's share.
 */
struct addr_key {
	uint8_t b[16];
};
int addr_key_of(const struct sockaddr *sa, struct addr_key *key);
/* A key back to text: host alone (port 0 and hostonly) or "host:port". */
void addr_key_format(const struct addr_key *key, uint16_t port, bool hostonly,
    char *buf, size_t cap);
bool addr_key_equal(const struct addr_key *a, const struct addr_key *b);
/*
 * The source a client address counts under for max_per_source: an IPv4
 * (or IPv4-mapped) key as it is, an IPv6 key cut to its first v6prefix
 * bits (0 to 128; more is taken as 128), since one host may hold a whole
 * prefix and pick a fresh address for each connection.
 */
void addr_key_source(const struct addr_key *addr, unsigned v6prefix,
    struct addr_key *out);
uint32_t addr_key_hash(const struct addr_key *k);

/*
 * Split "host", "host:port", "[v6addr]" or "[v6addr]:port". An IPv6
 * literal without brackets ("::1", "fe80::1") is taken whole as the host.
 * host gets the host (without brackets), port the port text or defport.
 * Returns 0, or -1 with a message in err.
 */
int addr_split_hostport(const char *in, const char *defport, char *host,
    size_t hostcap, char *port, size_t portcap, char *err, size_t errlen);

#endif
