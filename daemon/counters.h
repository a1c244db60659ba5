/*
 * Shared counters: one anonymous MAP_SHARED mapping made before any fork,
 * updated with atomic adds by the supervisor, workers and the hub; read by
 * STATUS and sd_notify STATUS=.
 *
 * A worker may be killed at any moment (kill -9), so nothing here depends
 * on a worker finishing: live counts are derived by the supervisor, which
 * reaps every child; workers only record what they are (echo or chat) in
 * their slot and add bytes as they go.
 */
#ifndef ECHOD_COUNTERS_H
#define ECHOD_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"

enum slot_kind { SLOT_FREE = 0, SLOT_STARTING, SLOT_ECHO, SLOT_CHAT };

struct counters {
	atomic_uint_least64_t connections_total; /* handed to a worker */
	atomic_uint_least64_t rejected_total;    /* refused by a limit */
	atomic_uint_least64_t fork_failed_total;
	atomic_uint_least64_t bytes_echoed;
	atomic_uint_least64_t messages_relayed;
	atomic_uint_least64_t chat_sessions_total;
	/* Written by the hub only; reset by the supervisor if it dies. */
	atomic_uint chat_members;
	atomic_uint rooms;
	/* One byte per worker slot (enum slot_kind), indexed by slot. */
	atomic_uchar slot[ECHOD_MAX_CONNECTIONS];
};

/* Map the counters; NULL with errno on failure. */
struct counters *counters_create(void);

/* Count slots of each kind among the first nslots. */
void counters_count_slots(const struct counters *c, unsigned nslots,
    unsigned *echo, unsigned *chat);

#endif
