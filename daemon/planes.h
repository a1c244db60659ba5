/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What passes between the control plane (echod, ctlplane.c) and the
 * engine (echod-engine, engine.c): the IPC message types on their channel
 * and the payload of each. The engine is exec'd with this channel on fd
 * ENGINE_FD_CHAN and the log channel (logrec.h) on ENGINE_FD_LOG.
 *
 * A configuration is a transaction: PLANE_CONFIG, one PLANE_LISTENER per
 * listening socket (with its descriptor), PLANE_COMMIT. The engine puts
 * it in force whole and answers PLANE_APPLIED; the first one starts it.
 * PLANE_PING is answered with PLANE_PONG and the engine's numbers: that
 * answer is what the watchdog and STATUS rest on.
 */
#ifndef ECHOD_PLANES_H
#define ECHOD_PLANES_H

#include <stdint.h>

#include "config.h"
#include "listener.h"

#define ENGINE_FD_CHAN 3
#define ENGINE_FD_LOG 4
#define ENGINE_NAME "echod-engine"

enum plane_type {
	/* control plane -> engine */
	PLANE_CONFIG = 1, /* struct config */
	PLANE_LISTENER,   /* struct listener, and its socket */
	PLANE_COMMIT,     /* struct plane_commit */
	PLANE_PING,       /* struct plane_ping */

	/* engine -> control plane */
	PLANE_APPLIED = 32, /* struct plane_applied */
	PLANE_PONG,         /* struct plane_pong */
	PLANE_EXEC_FAILED   /* int32 errno: the engine could not be run */
};

struct plane_commit {
	uint32_t id;
	uint32_t activated; /* the listeners came from systemd */
};

struct plane_applied {
	uint32_t id;
	int32_t ok;     /* 1: in force; 0: refused, the old one stays */
	char msg[200];  /* why not, NUL-terminated */
};

struct plane_ping {
	uint32_t seq;
};

/* The engine's numbers, for STATUS and sd_notify STATUS=. */
struct plane_pong {
	uint32_t seq;
	uint32_t workers, echo, chat, spares;
	uint32_t chat_members, rooms;
	/* The cluster as the hub last wrote it (counters.h). */
	uint32_t cluster_state, cluster_nodes, cluster_members, cluster_rooms;
	char cluster_node[64]; /* NUL-terminated */
	int32_t hub_pid;
	uint64_t connections_total, rejected_total, bytes_echoed,
	    messages_relayed, fork_failed_total;
};

#endif
