/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared counters: one anonymous MAP_SHARED mapping made before any fork,
 * made by the engine and updated with atomic adds by the engine, workers and
 * the hub; the engine reports them to the control plane for STATUS and
 * sd_notify STATUS=.
 *
 * A worker may be killed at any moment (kill -9), so nothing here depends
 * on a worker finishing: live counts are derived by the engine, which
 * reaps every child; workers only record what they are (echo or chat) in
 * their slot and add bytes as they go.
 */
#ifndef ECHOD_COUNTERS_H
#define ECHOD_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"

/* counters.cluster_state: the hub's link to Redis ([cluster] redis). */
enum cluster_state {
	CLUSTER_OFF = 0,  /* no [cluster] redis: one host */
	CLUSTER_CONNECTING, /* not yet up since the hub started */
	CLUSTER_UP,
	CLUSTER_DOWN /* lost; retrying with backoff, chat refused meanwhile */
};

enum slot_kind { SLOT_FREE = 0, SLOT_STARTING, SLOT_ECHO, SLOT_CHAT };

/*
 * One worker's session, as the engine logs it when it reaps the worker:
 * the close line comes from the long-lived engine, not from the
 * short-lived worker, so it is there for a worker killed by kill -9 too.
 * The worker updates its bytes as it goes and sets reason, nick and room;
 * the engine reads the slot only after the worker is gone. A chat
 * member's bytes_out is added to by the hub too, which writes to the
 * client's socket itself (chatlink.h).
 */
struct slot {
	atomic_uchar kind; /* enum slot_kind */
	char reason[23];   /* why the session ended; "" if it never said */
	atomic_uint_least64_t bytes_in, bytes_out;
	char nick[33], room[33]; /* chat only */
	/* Chat: written by the hub while it writes to this client, read by
	 * the worker if the hub dies (enum hub_out, chatlink.h). */
	atomic_uchar hub_out;
	char pad[128 - 24 - 16 - 66 - 1];
};
_Static_assert(sizeof(struct slot) == 128, "a slot is two cache lines");

struct counters {
	atomic_uint_least64_t connections_total; /* handed to a worker */
	atomic_uint_least64_t rejected_total;    /* refused by a limit */
	atomic_uint_least64_t fork_failed_total;
	atomic_uint_least64_t bytes_echoed;
	atomic_uint_least64_t messages_relayed;
	atomic_uint_least64_t chat_sessions_total;
	/* Written by the hub only; reset by the engine if it dies. */
	atomic_uint chat_members;
	atomic_uint rooms;
	/* The cluster (cluster.h), written by the hub: enum cluster_state,
	 * and from the last heartbeat, the live nodes and the members and
	 * rooms of all of them. cluster_node: set by the hub at its start. */
	atomic_uint cluster_state;
	atomic_uint cluster_nodes, cluster_members, cluster_rooms;
	char cluster_node[64];
	/*
	 * One per worker slot, indexed by the slot the engine assigns.
	 * Aligned so that no slot straddles two pages: the shared mapping is
	 * not copied at fork, and each page a worker touches in it is a page
	 * fault.
	 */
	_Alignas(128) struct slot slot[ECHOD_MAX_CONNECTIONS];
};

/* Map the counters; NULL with errno on failure. */
struct counters *counters_create(void);

/* Publish a string field of a slot (cut to fit, always terminated). */
void slot_set(char *field, size_t cap, const char *value);

/* Count slots of each kind among the first nslots. */
void counters_count_slots(const struct counters *c, unsigned nslots,
    unsigned *echo, unsigned *chat);

#endif
