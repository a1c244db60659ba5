/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A crowded room's gathered notices ([chat] crowd, PROTOCOL.md section 6):
 * the joins and parts since its last JOINS and PARTS lines, as the net
 * change of the room's membership over the interval. Pure logic, no I/O:
 * hub.c owns the timing and the sending, tests/unit/test_crowd.c tests it.
 *
 * Net change: a nick that parts while listed among this interval's joins
 * is taken off that list, and one that joins while listed among its parts
 * is taken off the parts; so no nick is in both lists and a client may
 * apply them in either order. Each list keeps at most CHAT_CROWD_NAMES_MAX
 * bytes of nicks; past that only the count grows (so a member that came
 * and went unlisted is counted in both).
 *
 * Cost: a join or part scans at most one list (CHAT_CROWD_NAMES_MAX bytes).
 */
#ifndef ECHOD_CROWD_H
#define ECHOD_CROWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chatproto.h"

struct crowd_list {
	uint32_t count; /* members, listed or not */
	size_t len; /* names[0..len): "a b c", no trailing space */
	char names[CHAT_CROWD_NAMES_MAX];
};

struct crowd {
	struct crowd_list joins, parts;
	uint64_t batch; /* this interval's number: crowd_join's mark */
	/* The hub's: when these are due, and its list of rooms waiting. */
	int64_t due;
	bool queued;
	struct crowd *prev, *next;
	void *room;
};

/* Empty lists for a new interval numbered batch (never 0). */
void crowd_reset(struct crowd *c, uint64_t batch);

/* Whether anything is waiting to be sent. */
bool crowd_pending(const struct crowd *c);

/*
 * nick came in. Returns c->batch if it counts among this interval's
 * joins (the caller keeps it as the member's mark for crowd_part), or 0
 * if it only cancelled a listed part of the same nick.
 */
uint64_t crowd_join(struct crowd *c, const char *nick);

/*
 * nick left; mark: what crowd_join returned for it (0 if it came in
 * another interval, or before the room was a crowd). A join of this
 * interval is taken back; any other counts among the parts.
 */
void crowd_part(struct crowd *c, const char *nick, uint64_t mark);

#endif
