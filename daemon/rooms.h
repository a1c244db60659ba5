/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub's room table: rooms, their members, nick uniqueness per room
 * (on the folded key of nickfold.h: no look-alikes), join, move, rename,
 * leave, the sorted WHO list and the limits
 * max_rooms and max_members_per_room. Pure logic, no I/O: hub.c does the
 * talking, tests/unit/test_rooms.c the testing.
 *
 * Members are small integers (ids) in [0, cap) chosen by the caller, who
 * keeps its own per-member state in an array of the same size. A room
 * exists while it has members: created by the first to enter, freed when
 * the last one leaves. Operations are atomic: on failure nothing changed.
 *
 * Cost: lookups of a room or of a nick in a room are hash lookups; leaving
 * and joining are O(1) after that; WHO sorts the room (n log n).
 *
 * A room also counts its members that asked for ids (rooms_set_ids), so
 * the hub keeps its one-variant fan-out where none did, and holds its
 * history (history.h), which the caller owns: rooms.c only zeroes it when
 * the room is made and calls rooms.gone just before freeing the room.
 */
#ifndef ECHOD_ROOMS_H
#define ECHOD_ROOMS_H

#include <stddef.h>
#include <stdint.h>

#include "chatproto.h"
#include "history.h"

#define ROOMS_NONE UINT32_MAX

struct crowd;

struct room {
	char name[CHAT_NAME_MAX + 1];
	uint32_t hash;
	uint32_t nmembers;
	uint32_t first, last; /* member list, in order of arrival */
	uint32_t nids; /* members with ids set */
	struct room *hnext; /* hash chain */
	struct history_room hist; /* the caller's */
	struct crowd *crowd; /* the caller's: gathered notices, or NULL */
	/* The caller's, with [cluster]: its members on this node, and
	 * whether its stream is read (cluster.h). */
	uint32_t nlocal;
	bool watched;
};

struct rooms_slot {
	char nick[CHAT_NAME_MAX + 1]; /* as spelled: shown, WHO */
	char key[CHAT_NAME_MAX + 1]; /* nickfold_key: compared, hashed */
	struct room *room; /* NULL: in no room */
	uint32_t next, prev;
	uint32_t hnext; /* nick hash chain */
	bool ids; /* counted in its room's nids */
};

struct rooms {
	uint32_t cap; /* member ids are < cap */
	struct rooms_slot *slot;
	const char **scratch; /* cap entries, for WHO */
	uint32_t mask; /* buckets - 1 (a power of two >= cap) */
	struct room **room_bucket;
	uint32_t *nick_bucket;
	unsigned nrooms, nmembers;
	unsigned max_rooms, max_members_per_room;
	/* Called with each room about to be freed (NULL: nothing to do). */
	void (*gone)(struct room *room, void *arg);
	void *gone_arg;
};

enum rooms_result {
	ROOMS_OK,
	ROOMS_NICK_TAKEN, /* someone in that room has that nick or a
			     look-alike (same key) */
	ROOMS_ROOM_FULL, /* the room has max_members_per_room */
	ROOMS_TOO_MANY_ROOMS, /* a new room would pass max_rooms */
	ROOMS_BAD_NAME, /* not 1 to 32 of A-Z a-z 0-9 _ . - */
	ROOMS_NO_MEMORY
};

/* Room for member ids [0, cap). Returns 0, or -1 (out of memory). */
int rooms_init(struct rooms *r, uint32_t cap, unsigned max_rooms,
    unsigned max_members_per_room);
void rooms_free(struct rooms *r);

/*
 * New limits (a reload). Rooms and members beyond them stay; only new
 * arrivals are refused until the counts fall below.
 */
void rooms_set_limits(struct rooms *r, unsigned max_rooms,
    unsigned max_members_per_room);

/* Member id, in no room, enters room (created if need be) as nick. */
enum rooms_result rooms_enter(struct rooms *r, uint32_t id, const char *nick,
    const char *room);

/*
 * Member id leaves its room for another, keeping its nick. Moving to the
 * room it is in changes nothing and succeeds. Leaving frees the old room
 * if id was its last member, and that counts for max_rooms.
 */
enum rooms_result rooms_move(struct rooms *r, uint32_t id, const char *room);

/*
 * Member id takes a new nick in its room. Same spelling: nothing changes;
 * same key, another spelling (alice -> Alice): only the spelling changes.
 */
enum rooms_result rooms_rename(struct rooms *r, uint32_t id, const char *nick);

/* Member id leaves its room, if in one. */
void rooms_leave(struct rooms *r, uint32_t id);

/* Whether member id asked for ids; kept until changed, counted in nids. */
void rooms_set_ids(struct rooms *r, uint32_t id, bool ids);

/* The room called name, or NULL. */
struct room *rooms_find(const struct rooms *r, const char *name);

/* The member of room whose nick has nick's key, or ROOMS_NONE. */
uint32_t rooms_holder(const struct rooms *r, const struct room *room,
    const char *nick);

/* Member id's room (NULL if none) and nick ("" if none), as spelled. */
static inline struct room *
rooms_room(const struct rooms *r, uint32_t id)
{
	return r->slot[id].room;
}

static inline const char *
rooms_nick(const struct rooms *r, uint32_t id)
{
	return r->slot[id].nick;
}

/* Iterate a room's members: first, then next until ROOMS_NONE. */
static inline uint32_t
rooms_first(const struct room *room)
{
	return room->first;
}

static inline uint32_t
rooms_next(const struct rooms *r, uint32_t id)
{
	return r->slot[id].next;
}

/*
 * The WHO line for room ("WHO a b c\n", nicks sorted by byte value) into
 * buf[0..cap), NUL-terminated. Names that no longer fit are left out.
 * Returns the line's length, or -1 if not even "WHO\n" fits.
 */
int rooms_who(const struct rooms *r, const struct room *room, char *buf,
    size_t cap);

/* "nick-taken", ...: the ERR code a result maps to (CHAT_OK for OK). */
enum chat_err rooms_result_err(enum rooms_result res);

#endif
