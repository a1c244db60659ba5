/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What crosses echod's control socket (PROTOCOL.md section 4), shared by
 * echod and chatctl so that each thing is defined once: the socket's
 * default path, the requests and reply words and their bounds, and the
 * STATUS object as tables from which echod's writer and chatctl's reader
 * are both generated. The version and default port are here because both
 * programs show or use them. Nothing internal to either side belongs here.
 */
#ifndef ECHOD_CTLPROTO_H
#define ECHOD_CTLPROTO_H

#include <limits.h>
#include <stdint.h>

#include "addr.h"

/* The Makefile passes the real one; this is for other builds. */
#ifndef ECHOD_VERSION
#define ECHOD_VERSION "0.1.0"
#endif

#define CTLPROTO_STR_(x) #x
#define CTLPROTO_STR(x) CTLPROTO_STR_(x)

#define ECHOD_DEFAULT_PORT 5188
#define ECHOD_DEFAULT_PORT_STR CTLPROTO_STR(ECHOD_DEFAULT_PORT)
#define ECHOD_DEFAULT_CONTROL "/run/echod/control.sock"

/* Requests: one of these as a line (LF, or CR LF). */
#define ECHOD_REQ_STATUS "STATUS"
#define ECHOD_REQ_RELOAD "RELOAD"
/* Replies other than STATUS's JSON: "OK", or "ERR " and a text. */
#define ECHOD_REPLY_OK "OK"
#define ECHOD_REPLY_ERR "ERR "

/* A request line, LF included; longer ones get "ERR request-too-long". */
#define ECHOD_CTL_MAX_REQUEST 256
/* Every reply, LF included, is shorter than this. */
#define ECHOD_CTL_MAX_REPLY 16384

/*
 * The STATUS reply is one line of JSON: an object with these members in
 * this order, X(key, type, size). Types:
 *   STR     a string; size: its array in struct echod_status, NUL included
 *   INT     an integer (int64_t)
 *   UINT    an integer, never negative (uint64_t)
 *   LIST    an array of at most ECHOD_STATUS_MAX_LISTEN "addr:port" strings
 *   CLUSTER an object with the members of ECHOD_STATUS_CLUSTER; optional
 *           (echod before the cluster lacks it), and only "state" when
 *           that is ECHOD_CLUSTER_OFF
 *   LIMITS  an object with the members of ECHOD_STATUS_LIMITS
 * size is 0 but for STR. A new member goes just before limits and never
 * moves the others (clients and people read them in this order); readers
 * ignore members they do not know.
 */
#define ECHOD_STATUS_FIELDS(X)			\
	X(version, STR, 32)			\
	X(pid, INT, 0)				\
	X(uptime_s, UINT, 0)			\
	X(config, STR, PATH_MAX)		\
	X(listen, LIST, 0)			\
	X(workers, UINT, 0)			\
	X(echo_connections, UINT, 0)		\
	X(chat_members, UINT, 0)		\
	X(rooms, UINT, 0)			\
	X(connections_total, UINT, 0)		\
	X(rejected_total, UINT, 0)		\
	X(bytes_echoed, UINT, 0)		\
	X(messages_relayed, UINT, 0)		\
	X(spares, UINT, 0)			\
	X(engine_pid, INT, 0)			\
	X(engine_state, STR, 16)		\
	X(engine_restarts, UINT, 0)		\
	X(log_lines_lost, UINT, 0)		\
	X(cluster, CLUSTER, 0)			\
	X(limits, LIMITS, 0)

/*
 * The members of "cluster" ([cluster] redis, several echod hosts sharing
 * rooms through Redis), X(key, type, size) as above: the state of the
 * link to Redis (ECHOD_CLUSTER_*), this node's name, and from the last
 * heartbeat the live nodes and the members and rooms of all of them.
 * This node's own members and rooms are chat_members and rooms.
 */
#define ECHOD_STATUS_CLUSTER(X)			\
	X(state, STR, 16)			\
	X(node, STR, 64)			\
	X(nodes, UINT, 0)			\
	X(members, UINT, 0)			\
	X(rooms, UINT, 0)

/* cluster.state; a reader shows a word it does not know as it is. */
#define ECHOD_CLUSTER_OFF "off" /* one host: no other member is sent */
#define ECHOD_CLUSTER_CONNECTING "connecting"
#define ECHOD_CLUSTER_UP "up"
#define ECHOD_CLUSTER_DOWN "down"

/*
 * The members of "limits": the effective limits, named and counted as in
 * echod.ini. X(key, type, unit); unit is what chatctl shows after a value.
 */
#define ECHOD_STATUS_LIMITS(X)			\
	X(max_connections, UINT, "")		\
	X(max_per_source, UINT, "")		\
	X(ipv6_prefix, UINT, "")		\
	X(backlog, UINT, "")			\
	X(first_byte_timeout, UINT, " s")	\
	X(idle_timeout, UINT, " s")		\
	X(shutdown_timeout, UINT, " s")		\
	X(spares, UINT, "")			\
	X(max_line, UINT, " bytes")		\
	X(max_backlog, UINT, " bytes")		\
	X(max_rooms, UINT, "")			\
	X(max_members_per_room, UINT, "")	\
	X(greeting_wait, UINT, " ms")		\
	X(rate_lines, UINT, "/s")		\
	X(rate_bytes, UINT, " bytes/s")		\
	X(rate_burst_lines, UINT, "")		\
	X(rate_burst_bytes, UINT, " bytes")	\
	X(history, UINT, " lines")		\
	X(history_bytes, UINT, " bytes")	\
	X(history_total, UINT, " bytes")	\
	X(crowd, UINT, " members")		\
	X(crowd_interval, UINT, " ms")

/* engine_state: how the control plane last saw the data plane's engine. */
#define ECHOD_ENGINE_RUNNING "running"
#define ECHOD_ENGINE_STARTING "starting"
#define ECHOD_ENGINE_RESTARTING "restarting"
#define ECHOD_ENGINE_NOT_ANSWERING "not-answering"

#define ECHOD_STATUS_MAX_LISTEN 16

struct echod_status_list {
	unsigned n;
	char v[ECHOD_STATUS_MAX_LISTEN][ADDR_STRLEN];
};

/* One member of struct echod_status per table row, of its type's C type. */
#define ECHOD_STATUS_MEMBER_STR(key, size) char key[size];
#define ECHOD_STATUS_MEMBER_INT(key, size) int64_t key;
#define ECHOD_STATUS_MEMBER_UINT(key, size) uint64_t key;
#define ECHOD_STATUS_MEMBER_LIST(key, size) struct echod_status_list key;
#define ECHOD_STATUS_MEMBER_CLUSTER(key, size) \
	struct echod_status_cluster key;
#define ECHOD_STATUS_MEMBER_LIMITS(key, size) struct echod_status_limits key;
#define ECHOD_STATUS_MEMBER(key, type, size) \
	ECHOD_STATUS_MEMBER_##type(key, size)

struct echod_status_limits {
	ECHOD_STATUS_LIMITS(ECHOD_STATUS_MEMBER)
};

/* state "" when the reply had no cluster object (an older echod). */
struct echod_status_cluster {
	ECHOD_STATUS_CLUSTER(ECHOD_STATUS_MEMBER)
};

/* A STATUS reply as data: what echod writes and chatctl reads back. */
struct echod_status {
	ECHOD_STATUS_FIELDS(ECHOD_STATUS_MEMBER)
};

#endif
