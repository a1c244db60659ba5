/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub's room table (daemon/rooms.c) against a plain model. Input: two
 * bytes of limits (max_rooms 1-3, max_members_per_room 1-4), then one op
 * per two bytes on 8 member ids with a handful of nicks and rooms (so they
 * collide): enter, move (JOIN), rename (NICK), leave, new limits (reload).
 * Properties, after every op:
 * - the result is the one the model predicts (nick-taken, room-full, too
 *   many rooms, bad name), and a refused op changes nothing;
 * - rooms exist exactly while they have members; counts agree;
 * - each room lists its members in order of arrival, nicks unique in it
 *   on their folded key (the model folds on its own: case, I l 1, O 0),
 *   each shown as it was spelled;
 * - WHO is the room's nicks, sorted, and parses as a server line.
 */
#include <stdlib.h>
#include <string.h>

#include "chatproto.h"
#include "fuzz.h"
#include "rooms.h"

#define IDS 8
#define NROOMS 4

/* Look-alikes (l I 1, o O 0) among them. */
static const char *const nicks[] = { "a", "b", "B", "ccc", "", "bad nick",
	"l1", "IL", "o", "O0", "0o", "x.1" };
#define NNICKS (sizeof(nicks) / sizeof(nicks[0]))
static const char *const rnames[NROOMS + 2] = { "r0", "r1", "R2", "lobby", "",
	"bad room" };

struct model {
	int room[IDS]; /* -1: in none */
	const char *nick[IDS];
	unsigned seq[IDS]; /* arrival order in its room */
	unsigned max_rooms, max_members;
};

static unsigned
room_count(const struct model *m, int room)
{
	unsigned n = 0;

	for (int i = 0; i < IDS; i++)
		n += m->room[i] == room;
	return n;
}

static unsigned
rooms_used(const struct model *m)
{
	unsigned n = 0;

	for (int k = 0; k < NROOMS; k++)
		n += room_count(m, k) > 0;
	return n;
}

/* PROTOCOL.md's rule, written out apart from common/nickfold.c. */
static bool
same_nick(const char *a, const char *b)
{
	static const char *const classes[] = { "iIlL1", "oO0" };

	for (; *a != '\0' && *b != '\0'; a++, b++) {
		int ca = *a, cb = *b;

		for (size_t k = 0; k < 2; k++) {
			if (strchr(classes[k], ca) != NULL)
				ca = classes[k][0];
			if (strchr(classes[k], cb) != NULL)
				cb = classes[k][0];
		}
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return false;
	}
	return *a == *b;
}

/* Someone in room but except holds nick or a look-alike. */
static bool
nick_in(const struct model *m, int room, const char *nick, int except)
{
	for (int i = 0; i < IDS; i++)
		if (i != except && m->room[i] == room &&
		    same_nick(m->nick[i], nick))
			return true;
	return false;
}

/* Where the model says id may go as nick; freeing: id empties a room. */
static enum rooms_result
target(const struct model *m, int room, const char *nick, unsigned freeing)
{
	unsigned n = room_count(m, room);

	if (n > 0) {
		if (nick_in(m, room, nick, -1))
			return ROOMS_NICK_TAKEN;
		if (n >= m->max_members)
			return ROOMS_ROOM_FULL;
		return ROOMS_OK;
	}
	if (rooms_used(m) - freeing >= m->max_rooms)
		return ROOMS_TOO_MANY_ROOMS;
	return ROOMS_OK;
}

static bool
valid(const char *s)
{
	return chat_valid_name(s, strlen(s));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
check(const struct rooms *r, const struct model *m)
{
	unsigned members = 0;

	FUZZ_ASSERT(r->nrooms == rooms_used(m));
	for (int i = 0; i < IDS; i++) {
		members += m->room[i] >= 0;
		if (m->room[i] < 0) {
			FUZZ_ASSERT(rooms_room(r, (uint32_t)i) == NULL);
			continue;
		}
		FUZZ_ASSERT(rooms_room(r, (uint32_t)i) != NULL);
		FUZZ_ASSERT(strcmp(rooms_room(r, (uint32_t)i)->name,
				rnames[m->room[i]]) == 0);
		FUZZ_ASSERT(
		    strcmp(rooms_nick(r, (uint32_t)i), m->nick[i]) == 0);
	}
	FUZZ_ASSERT(r->nmembers == members);
	for (int k = 0; k < NROOMS; k++) {
		struct room *room = rooms_find(r, rnames[k]);
		const char *who[IDS];
		unsigned n = 0, last = 0;
		char line[256], want[256] = "WHO";
		struct chat_server_evt e;
		int len;

		if (room_count(m, k) == 0) {
			FUZZ_ASSERT(room == NULL);
			continue;
		}
		FUZZ_ASSERT(room != NULL && room->nmembers == room_count(m, k));
		/* Arrival order: the model's sequence numbers ascend. */
		for (uint32_t id = rooms_first(room); id != ROOMS_NONE;
		     id = rooms_next(r, id)) {
			FUZZ_ASSERT(id < IDS && m->room[id] == k);
			FUZZ_ASSERT(n == 0 || m->seq[id] > last);
			last = m->seq[id];
			who[n++] = m->nick[id];
			FUZZ_ASSERT(n <= IDS);
		}
		FUZZ_ASSERT(n == room_count(m, k));
		qsort(who, n, sizeof(who[0]), cmp_str);
		for (unsigned i = 0; i < n; i++) {
			for (unsigned j = 0; j < i; j++)
				FUZZ_ASSERT(!same_nick(who[j], who[i]));
			strcat(want, " ");
			strcat(want, who[i]);
		}
		strcat(want, "\n");
		len = rooms_who(r, room, line, sizeof(line));
		FUZZ_ASSERT(len > 0 && strcmp(line, want) == 0);
		FUZZ_ASSERT(chat_parse_server(line, (size_t)len - 1, &e) == 0 &&
		    e.type == CHAT_EVT_WHO && e.count == n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rooms r;
	struct model m;
	unsigned seq = 0;

	if (size < 2)
		return 0;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < IDS; i++) {
		m.room[i] = -1;
		m.nick[i] = "";
	}
	m.max_rooms = 1 + data[0] % 3;
	m.max_members = 1 + data[1] % 4;
	FUZZ_ASSERT(rooms_init(&r, IDS, m.max_rooms, m.max_members) == 0);
	for (size_t i = 2; i + 1 < size; i += 2) {
		unsigned op = data[i] % 5, id = (data[i] >> 3) % IDS;
		unsigned nk = ((data[i] >> 6) * 8u + data[i + 1] % 8u) % NNICKS;
		unsigned rm = (data[i + 1] >> 3) % 6;
		const char *nick = nicks[nk], *room = rnames[rm];
		enum rooms_result want, got;

		switch (op) {
		case 0: /* greeting */
			if (m.room[id] >= 0 || !valid(nick) || !valid(room))
				want = ROOMS_BAD_NAME;
			else
				want = target(&m, (int)rm, nick, 0);
			got = rooms_enter(&r, id, nick, room);
			FUZZ_ASSERT(got == want);
			if (got == ROOMS_OK) {
				m.room[id] = (int)rm;
				m.nick[id] = nick;
				m.seq[id] = ++seq;
			}
			break;
		case 1: /* JOIN */
			if (m.room[id] < 0 || !valid(room))
				want = ROOMS_BAD_NAME;
			else if (m.room[id] == (int)rm)
				want = ROOMS_OK;
			else
				want = target(&m, (int)rm, m.nick[id],
				    room_count(&m, m.room[id]) == 1);
			got = rooms_move(&r, id, room);
			FUZZ_ASSERT(got == want);
			if (got == ROOMS_OK && m.room[id] != (int)rm) {
				m.room[id] = (int)rm;
				m.seq[id] = ++seq;
			}
			break;
		case 2: /* NICK */
			if (m.room[id] < 0 || !valid(nick))
				want = ROOMS_BAD_NAME;
			else if (nick_in(&m, m.room[id], nick, (int)id))
				want = ROOMS_NICK_TAKEN;
			else
				want = ROOMS_OK; /* its own key respelled too */
			got = rooms_rename(&r, id, nick);
			FUZZ_ASSERT(got == want);
			if (got == ROOMS_OK)
				m.nick[id] = nick;
			break;
		case 3: /* leave */
			rooms_leave(&r, id);
			m.room[id] = -1;
			m.nick[id] = "";
			break;
		case 4: /* reload with new limits */
			m.max_rooms = 1 + data[i + 1] % 3;
			m.max_members = 1 + (data[i + 1] >> 2) % 4;
			rooms_set_limits(&r, m.max_rooms, m.max_members);
			break;
		}
		check(&r, &m);
	}
	rooms_free(&r);
	return 0;
}
