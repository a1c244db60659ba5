/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The room table (rooms.h). Two chained hash tables share one size, a
 * power of two no smaller than the number of member ids: rooms by name,
 * and members by (room, nick key). Rooms never outnumber members (an empty
 * room is freed), so neither table has more entries than buckets.
 */
#include "rooms.h"

#include "nickfold.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static uint32_t
fnv(const char *s, uint32_t h)
{
	/* Names are at most CHAT_NAME_MAX bytes, checked before hashing. */
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	return h;
}

static bool
valid(const char *name)
{
	return chat_valid_name(name, strnlen(name, CHAT_NAME_MAX + 1));
}

int
rooms_init(struct rooms *r, uint32_t cap, unsigned max_rooms,
    unsigned max_members_per_room)
{
	uint32_t buckets = 16;

	memset(r, 0, sizeof(*r));
	if (cap == 0 || cap >= ROOMS_NONE / 2)
		return -1;
	while (buckets < cap)
		buckets *= 2;
	r->cap = cap;
	r->mask = buckets - 1;
	/* calloc: pages of unused ids are never touched. */
	r->slot = calloc(cap, sizeof(*r->slot));
	r->scratch = calloc(cap, sizeof(*r->scratch));
	r->room_bucket = calloc(buckets, sizeof(*r->room_bucket));
	r->nick_bucket = malloc(buckets * sizeof(*r->nick_bucket));
	if (r->slot == NULL || r->scratch == NULL || r->room_bucket == NULL ||
	    r->nick_bucket == NULL) {
		rooms_free(r);
		return -1;
	}
	memset(r->nick_bucket, 0xff, buckets * sizeof(*r->nick_bucket));
	rooms_set_limits(r, max_rooms, max_members_per_room);
	return 0;
}

void
rooms_free(struct rooms *r)
{
	if (r->room_bucket != NULL)
		for (uint32_t b = 0; b <= r->mask; b++)
			while (r->room_bucket[b] != NULL) {
				struct room *p = r->room_bucket[b];

				r->room_bucket[b] = p->hnext;
				if (r->gone != NULL)
					r->gone(p, r->gone_arg);
				free(p);
			}
	free(r->slot);
	free(r->scratch);
	free(r->room_bucket);
	free(r->nick_bucket);
	memset(r, 0, sizeof(*r));
}

void
rooms_set_limits(struct rooms *r, unsigned max_rooms,
    unsigned max_members_per_room)
{
	r->max_rooms = max_rooms;
	r->max_members_per_room = max_members_per_room;
}

static struct room *
room_lookup(const struct rooms *r, const char *name, uint32_t h)
{
	/* A chain holds rooms whose hash shares the low bits: a handful. */
	for (struct room *p = r->room_bucket[h & r->mask]; p != NULL;
	     p = p->hnext)
		if (p->hash == h && strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

struct room *
rooms_find(const struct rooms *r, const char *name)
{
	if (!valid(name))
		return NULL;
	return room_lookup(r, name, fnv(name, FNV_OFFSET));
}

static struct room *
room_new(struct rooms *r, const char *name, uint32_t h)
{
	struct room *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	strcpy(p->name, name); /* valid(): fits */
	p->hash = h;
	p->first = p->last = ROOMS_NONE;
	p->hnext = r->room_bucket[h & r->mask];
	r->room_bucket[h & r->mask] = p;
	r->nrooms++;
	return p;
}

static void
room_free(struct rooms *r, struct room *p)
{
	struct room **pp = &r->room_bucket[p->hash & r->mask];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	r->nrooms--;
	if (r->gone != NULL)
		r->gone(p, r->gone_arg);
	free(p);
}

static uint32_t
nick_hash(const struct room *room, const char *key)
{
	return fnv(key, room->hash * FNV_PRIME);
}

/* key: a nick's nickfold_key. */
static uint32_t
nick_lookup(const struct rooms *r, const struct room *room, const char *key)
{
	uint32_t id = r->nick_bucket[nick_hash(room, key) & r->mask];

	/* A chain holds the members whose hash shares the low bits. */
	for (; id != ROOMS_NONE; id = r->slot[id].hnext)
		if (r->slot[id].room == room &&
		    strcmp(r->slot[id].key, key) == 0)
			return id;
	return ROOMS_NONE;
}

/* Fold a valid() nick: it fits. */
static void
make_key(const char *nick, char key[CHAT_NAME_MAX + 1])
{
	nickfold_key(nick, strlen(nick), key);
}

uint32_t
rooms_holder(const struct rooms *r, const struct room *room, const char *nick)
{
	char key[CHAT_NAME_MAX + 1];

	if (room == NULL || !valid(nick))
		return ROOMS_NONE;
	make_key(nick, key);
	return nick_lookup(r, room, key);
}

static void
nick_unhash(struct rooms *r, uint32_t id)
{
	struct rooms_slot *s = &r->slot[id];
	uint32_t *pp = &r->nick_bucket[nick_hash(s->room, s->key) & r->mask];

	while (*pp != id)
		pp = &r->slot[*pp].hnext;
	*pp = s->hnext;
}

static void
nick_hash_in(struct rooms *r, uint32_t id)
{
	struct rooms_slot *s = &r->slot[id];
	uint32_t b = nick_hash(s->room, s->key) & r->mask;

	s->hnext = r->nick_bucket[b];
	r->nick_bucket[b] = id;
}

/* Put id (nick and key already set, in no room) at the end of room. */
static void
link_in(struct rooms *r, uint32_t id, struct room *room)
{
	struct rooms_slot *s = &r->slot[id];

	s->room = room;
	s->next = ROOMS_NONE;
	s->prev = room->last;
	if (room->last != ROOMS_NONE)
		r->slot[room->last].next = id;
	else
		room->first = id;
	room->last = id;
	room->nmembers++;
	room->nids += s->ids;
	r->nmembers++;
	nick_hash_in(r, id);
}

/* Take id out of its room; the room is freed if that emptied it. */
static void
link_out(struct rooms *r, uint32_t id)
{
	struct rooms_slot *s = &r->slot[id];
	struct room *room = s->room;

	nick_unhash(r, id);
	if (s->prev != ROOMS_NONE)
		r->slot[s->prev].next = s->next;
	else
		room->first = s->next;
	if (s->next != ROOMS_NONE)
		r->slot[s->next].prev = s->prev;
	else
		room->last = s->prev;
	s->room = NULL;
	s->next = s->prev = ROOMS_NONE;
	room->nmembers--;
	room->nids -= s->ids;
	r->nmembers--;
	if (room->nmembers == 0)
		room_free(r, room);
}

/*
 * The room id may enter with nick key key: found, or made if the limits
 * allow. freeing: 1 if entering it empties (and so frees) another room.
 */
static enum rooms_result
target(struct rooms *r, const char *name, const char *key, unsigned freeing,
    struct room **out)
{
	uint32_t h = fnv(name, FNV_OFFSET);
	struct room *room = room_lookup(r, name, h);

	if (room != NULL) {
		if (nick_lookup(r, room, key) != ROOMS_NONE)
			return ROOMS_NICK_TAKEN;
		if (room->nmembers >= r->max_members_per_room)
			return ROOMS_ROOM_FULL;
	} else {
		if (r->nrooms - freeing >= r->max_rooms ||
		    r->max_members_per_room == 0)
			return ROOMS_TOO_MANY_ROOMS;
		if ((room = room_new(r, name, h)) == NULL)
			return ROOMS_NO_MEMORY;
	}
	*out = room;
	return ROOMS_OK;
}

enum rooms_result
rooms_enter(struct rooms *r, uint32_t id, const char *nick, const char *room)
{
	char key[CHAT_NAME_MAX + 1];
	struct room *p;
	enum rooms_result res;

	if (id >= r->cap || r->slot[id].room != NULL)
		return ROOMS_BAD_NAME;
	if (!valid(nick) || !valid(room))
		return ROOMS_BAD_NAME;
	make_key(nick, key);
	if ((res = target(r, room, key, 0, &p)) != ROOMS_OK)
		return res;
	strcpy(r->slot[id].nick, nick);
	strcpy(r->slot[id].key, key);
	link_in(r, id, p);
	return ROOMS_OK;
}

enum rooms_result
rooms_move(struct rooms *r, uint32_t id, const char *room)
{
	struct room *old, *p;
	enum rooms_result res;

	if (id >= r->cap || (old = r->slot[id].room) == NULL || !valid(room))
		return ROOMS_BAD_NAME;
	if (strcmp(old->name, room) == 0)
		return ROOMS_OK;
	res = target(r, room, r->slot[id].key, old->nmembers == 1, &p);
	if (res != ROOMS_OK)
		return res;
	link_out(r, id);
	link_in(r, id, p);
	return ROOMS_OK;
}

enum rooms_result
rooms_rename(struct rooms *r, uint32_t id, const char *nick)
{
	char key[CHAT_NAME_MAX + 1];
	struct rooms_slot *s;

	if (id >= r->cap || (s = &r->slot[id])->room == NULL || !valid(nick))
		return ROOMS_BAD_NAME;
	make_key(nick, key);
	if (strcmp(s->key, key) == 0) {
		/* Its own nick, maybe spelled anew: it collides with no one. */
		strcpy(s->nick, nick);
		return ROOMS_OK;
	}
	if (nick_lookup(r, s->room, key) != ROOMS_NONE)
		return ROOMS_NICK_TAKEN;
	nick_unhash(r, id);
	strcpy(s->nick, nick);
	strcpy(s->key, key);
	nick_hash_in(r, id);
	return ROOMS_OK;
}

void
rooms_set_ids(struct rooms *r, uint32_t id, bool ids)
{
	struct rooms_slot *s;

	if (id >= r->cap || (s = &r->slot[id])->ids == ids)
		return;
	if (s->room != NULL)
		s->room->nids += ids ? 1 : (uint32_t)-1;
	s->ids = ids;
}

void
rooms_leave(struct rooms *r, uint32_t id)
{
	if (id < r->cap && r->slot[id].room != NULL)
		link_out(r, id);
	if (id < r->cap) {
		r->slot[id].nick[0] = r->slot[id].key[0] = '\0';
		r->slot[id].ids = false;
	}
}

static int
cmp_nick(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
rooms_who(const struct rooms *r, const struct room *room, char *buf, size_t cap)
{
	struct chat_who w;
	size_t n = 0;

	/* Bounded by the room's size, itself at most cap ids. */
	for (uint32_t id = room->first; id != ROOMS_NONE && n < r->cap;
	     id = r->slot[id].next)
		r->scratch[n++] = r->slot[id].nick;
	/* Sorted first, so that chat_who_add appends at O(1) each. */
	qsort(r->scratch, n, sizeof(*r->scratch), cmp_nick);
	chat_who_begin(&w, buf, cap);
	for (size_t i = 0; i < n; i++)
		if (chat_who_add(&w, r->scratch[i]) == -1)
			break;
	return chat_who_end(&w);
}

enum chat_err
rooms_result_err(enum rooms_result res)
{
	switch (res) {
	case ROOMS_OK:
		return CHAT_OK;
	case ROOMS_NICK_TAKEN:
		return CHAT_ERR_NICK_TAKEN;
	case ROOMS_ROOM_FULL:
	case ROOMS_TOO_MANY_ROOMS:
	case ROOMS_NO_MEMORY:
		return CHAT_ERR_ROOM_FULL;
	case ROOMS_BAD_NAME:
		break;
	}
	return CHAT_ERR_BAD_ROOM;
}
