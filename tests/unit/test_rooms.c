/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: the hub's room table (daemon/rooms.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rooms.h"

static char who[64 * 1024];

static const char *
who_of(struct rooms *r, const char *room)
{
	struct room *p = rooms_find(r, room);

	if (p == NULL)
		return "(no room)";
	assert_true(rooms_who(r, p, who, sizeof(who)) > 0);
	return who;
}

/* Members of a room in list order, as "a b c". */
static const char *
members_of(struct rooms *r, const char *room)
{
	static char buf[4096];
	struct room *p = rooms_find(r, room);
	size_t len = 0;

	buf[0] = '\0';
	if (p == NULL)
		return buf;
	for (uint32_t id = rooms_first(p); id != ROOMS_NONE;
	     id = rooms_next(r, id))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
		    len ? " " : "", rooms_nick(r, id));
	return buf;
}

static void
test_enter_and_leave(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "alice", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "bob", "lobby"), ROOMS_OK);
	assert_int_equal(r.nrooms, 1);
	assert_int_equal(r.nmembers, 2);
	assert_int_equal(rooms_find(&r, "lobby")->nmembers, 2);
	assert_ptr_equal(rooms_room(&r, 0), rooms_find(&r, "lobby"));
	assert_string_equal(rooms_nick(&r, 1), "bob");
	assert_string_equal(members_of(&r, "lobby"), "alice bob");
	rooms_leave(&r, 0);
	assert_null(rooms_room(&r, 0));
	assert_string_equal(members_of(&r, "lobby"), "bob");
	rooms_leave(&r, 1);
	assert_int_equal(r.nrooms, 0);
	assert_int_equal(r.nmembers, 0);
	assert_null(rooms_find(&r, "lobby"));
	rooms_leave(&r, 1); /* twice: harmless */
	rooms_free(&r);
}

static void
test_nick_unique_per_room(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "alice", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "alice", "lobby"),
	    ROOMS_NICK_TAKEN);
	assert_null(rooms_room(&r, 1));
	assert_int_equal(rooms_enter(&r, 1, "bob", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 2, "alice", "other"), ROOMS_OK);
	assert_int_equal(r.nrooms, 2);
	/* The nick is free again once its holder left. */
	rooms_leave(&r, 0);
	assert_int_equal(rooms_enter(&r, 3, "alice", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_result_err(ROOMS_NICK_TAKEN),
	    CHAT_ERR_NICK_TAKEN);
	rooms_free(&r);
}

/* Nicks are unique on their folded key (common/nickfold.h). */
static void
test_look_alike_nicks(void **state)
{
	const char *alices[] = { "Alice", "ALICE", "aIice", "a1ice", "al1ce" };
	const char *bobs[] = { "b0b", "BOB" };
	struct rooms r;
	uint32_t id = 2;

	(void)state;
	assert_int_equal(rooms_init(&r, 16, 10, 20), 0);
	assert_int_equal(rooms_enter(&r, 0, "alice", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "bob", "lobby"), ROOMS_OK);
	for (size_t i = 0; i < sizeof(alices) / sizeof(alices[0]); i++) {
		assert_int_equal(rooms_enter(&r, id, alices[i], "lobby"),
		    ROOMS_NICK_TAKEN);
		assert_int_equal(rooms_holder(&r, rooms_find(&r, "lobby"),
				     alices[i]),
		    0);
	}
	for (size_t i = 0; i < sizeof(bobs) / sizeof(bobs[0]); i++)
		assert_int_equal(rooms_enter(&r, id, bobs[i], "lobby"),
		    ROOMS_NICK_TAKEN);
	assert_null(rooms_room(&r, id));
	/* Distinct nicks are still distinct. */
	assert_int_equal(rooms_enter(&r, id++, "alicia", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, id++, "b8b", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, id++, "a_b", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, id++, "a-b", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_holder(&r, rooms_find(&r, "lobby"), "carol"),
	    ROOMS_NONE);
	/* A Cyrillic look-alike is no name at all: names are ASCII. */
	assert_int_equal(rooms_enter(&r, id, "\xd0\xb0lice", "lobby"),
	    ROOMS_BAD_NAME);
	/* Spelling kept for display and WHO. */
	assert_string_equal(rooms_nick(&r, 0), "alice");
	assert_string_equal(who_of(&r, "lobby"),
	    "WHO a-b a_b alice alicia b8b bob\n");
	/* Another room is another namespace; moving into a look-alike is
	 * refused and leaves the member where it was. */
	assert_int_equal(rooms_enter(&r, id, "ALICE", "other"), ROOMS_OK);
	assert_int_equal(rooms_move(&r, id, "lobby"), ROOMS_NICK_TAKEN);
	assert_ptr_equal(rooms_room(&r, id), rooms_find(&r, "other"));
	/* Renaming into a look-alike is refused too. */
	assert_int_equal(rooms_rename(&r, 1, "AL1CE"), ROOMS_NICK_TAKEN);
	assert_string_equal(rooms_nick(&r, 1), "bob");
	/* Once alice leaves, her key is free. */
	rooms_leave(&r, 0);
	assert_int_equal(rooms_rename(&r, 1, "AL1CE"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 0, "bob", "lobby"), ROOMS_OK);
	rooms_free(&r);
}

/* A member's own nick in another spelling collides with no one. */
static void
test_rename_own_spelling(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "alice", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "bob", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_rename(&r, 0, "Alice"), ROOMS_OK);
	assert_string_equal(rooms_nick(&r, 0), "Alice");
	assert_int_equal(rooms_rename(&r, 0, "a1ice"), ROOMS_OK);
	assert_string_equal(rooms_nick(&r, 0), "a1ice");
	assert_string_equal(who_of(&r, "lobby"), "WHO a1ice bob\n");
	/* Still hashed under its key: others are refused, lookups find it. */
	assert_int_equal(rooms_enter(&r, 2, "alice", "lobby"),
	    ROOMS_NICK_TAKEN);
	assert_int_equal(rooms_holder(&r, rooms_find(&r, "lobby"), "ALICE"), 0);
	/* And its move takes the key along. */
	assert_int_equal(rooms_move(&r, 0, "other"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 2, "alice", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 3, "AlIce", "other"),
	    ROOMS_NICK_TAKEN);
	rooms_free(&r);
}

static void
test_bad_names_and_ids(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 4, 10, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "", "lobby"), ROOMS_BAD_NAME);
	assert_int_equal(rooms_enter(&r, 0, "a b", "lobby"), ROOMS_BAD_NAME);
	assert_int_equal(rooms_enter(&r, 0, "a", "lob\033by"), ROOMS_BAD_NAME);
	assert_int_equal(rooms_enter(&r, 0, "a",
			     "0123456789012345678901234567890123"),
	    ROOMS_BAD_NAME);
	assert_int_equal(rooms_enter(&r, 4, "a", "lobby"), ROOMS_BAD_NAME);
	assert_int_equal(rooms_enter(&r, 0, "a", "lobby"), ROOMS_OK);
	/* Already in a room: enter is refused, move is the way. */
	assert_int_equal(rooms_enter(&r, 0, "a", "other"), ROOMS_BAD_NAME);
	assert_int_equal(rooms_move(&r, 1, "other"), ROOMS_BAD_NAME);
	assert_int_equal(rooms_rename(&r, 1, "x"), ROOMS_BAD_NAME);
	assert_int_equal(rooms_rename(&r, 0, "x y"), ROOMS_BAD_NAME);
	assert_int_equal(r.nmembers, 1);
	rooms_free(&r);
}

static void
test_room_full(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 2), 0);
	assert_int_equal(rooms_enter(&r, 0, "a", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "b", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 2, "c", "lobby"), ROOMS_ROOM_FULL);
	assert_int_equal(rooms_enter(&r, 2, "c", "other"), ROOMS_OK);
	assert_int_equal(rooms_move(&r, 2, "lobby"), ROOMS_ROOM_FULL);
	assert_ptr_equal(rooms_room(&r, 2), rooms_find(&r, "other"));
	assert_int_equal(rooms_result_err(ROOMS_ROOM_FULL), CHAT_ERR_ROOM_FULL);
	rooms_free(&r);
}

static void
test_max_rooms(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 2, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "a", "one"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "b", "two"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 2, "c", "three"),
	    ROOMS_TOO_MANY_ROOMS);
	/* An existing room is still open. */
	assert_int_equal(rooms_enter(&r, 2, "c", "two"), ROOMS_OK);
	/* c leaving "two" does not empty it: no room for "three". */
	assert_int_equal(rooms_move(&r, 2, "three"), ROOMS_TOO_MANY_ROOMS);
	/* a leaving "one" empties it, which makes room for "three". */
	assert_int_equal(rooms_move(&r, 0, "three"), ROOMS_OK);
	assert_null(rooms_find(&r, "one"));
	assert_int_equal(r.nrooms, 2);
	assert_int_equal(rooms_result_err(ROOMS_TOO_MANY_ROOMS),
	    CHAT_ERR_ROOM_FULL);
	rooms_free(&r);
}

static void
test_lower_limits_keep_existing(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "a", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "b", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 2, "c", "other"), ROOMS_OK);
	rooms_set_limits(&r, 1, 1);
	assert_int_equal(r.nmembers, 3);
	assert_int_equal(rooms_enter(&r, 3, "d", "lobby"), ROOMS_ROOM_FULL);
	assert_int_equal(rooms_enter(&r, 3, "d", "new"), ROOMS_TOO_MANY_ROOMS);
	rooms_leave(&r, 2);
	rooms_leave(&r, 1);
	assert_int_equal(rooms_enter(&r, 3, "d", "lobby"), ROOMS_ROOM_FULL);
	assert_int_equal(rooms_move(&r, 0, "new"), ROOMS_OK);
	rooms_free(&r);
}

static void
test_move(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "a", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "b", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 2, "b", "other"), ROOMS_OK);
	/* Same room: nothing changes. */
	assert_int_equal(rooms_move(&r, 0, "lobby"), ROOMS_OK);
	assert_string_equal(members_of(&r, "lobby"), "a b");
	/* Nick taken in the target: stays where it was. */
	assert_int_equal(rooms_move(&r, 1, "other"), ROOMS_NICK_TAKEN);
	assert_ptr_equal(rooms_room(&r, 1), rooms_find(&r, "lobby"));
	assert_int_equal(rooms_move(&r, 0, "other"), ROOMS_OK);
	assert_string_equal(members_of(&r, "lobby"), "b");
	assert_string_equal(members_of(&r, "other"), "b a");
	/* Its nick is free in the room it left. */
	assert_int_equal(rooms_enter(&r, 3, "a", "lobby"), ROOMS_OK);
	/* The last one out frees the room. */
	assert_int_equal(rooms_move(&r, 3, "third"), ROOMS_OK);
	assert_int_equal(rooms_move(&r, 1, "third"), ROOMS_OK);
	assert_null(rooms_find(&r, "lobby"));
	assert_int_equal(r.nrooms, 2);
	assert_int_equal(r.nmembers, 4);
	rooms_free(&r);
}

static void
test_rename(void **state)
{
	struct rooms r;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "a", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "b", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 2, "c", "other"), ROOMS_OK);
	assert_int_equal(rooms_rename(&r, 0, "b"), ROOMS_NICK_TAKEN);
	assert_string_equal(rooms_nick(&r, 0), "a");
	assert_int_equal(rooms_rename(&r, 0, "a"), ROOMS_OK);
	assert_int_equal(rooms_rename(&r, 0, "c"), ROOMS_OK); /* other room */
	assert_string_equal(rooms_nick(&r, 0), "c");
	/* The old nick is free, the new one taken. */
	assert_int_equal(rooms_enter(&r, 3, "a", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 4, "c", "lobby"), ROOMS_NICK_TAKEN);
	assert_string_equal(who_of(&r, "lobby"), "WHO a b c\n");
	rooms_free(&r);
}

static void
test_who_sorted(void **state)
{
	struct rooms r;
	const char *nicks[] = { "zed", "mike", "Bob", "alice", "_x", "9lives",
		"a.b", "a-b", "A" };

	(void)state;
	assert_int_equal(rooms_init(&r, 16, 10, 100), 0);
	for (uint32_t i = 0; i < sizeof(nicks) / sizeof(nicks[0]); i++)
		assert_int_equal(rooms_enter(&r, i, nicks[i], "lobby"),
		    ROOMS_OK);
	assert_string_equal(who_of(&r, "lobby"),
	    "WHO 9lives A Bob _x a-b a.b alice mike zed\n");
	rooms_free(&r);
}

static void
test_who_cut_to_fit(void **state)
{
	struct rooms r;
	char buf[16];

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 10), 0);
	assert_int_equal(rooms_enter(&r, 0, "ccc", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "aaa", "lobby"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 2, "bbb", "lobby"), ROOMS_OK);
	/* "WHO aaa bbb\n" is 12 bytes and a NUL: ccc no longer fits. */
	assert_int_equal(rooms_who(&r, rooms_find(&r, "lobby"), buf,
			     sizeof(buf)),
	    12);
	assert_string_equal(buf, "WHO aaa bbb\n");
	assert_int_equal(rooms_who(&r, rooms_find(&r, "lobby"), buf, 4), -1);
	rooms_free(&r);
}

/* Many members and rooms against a plain model: hash chains hold up. */
static void
test_random_against_model(void **state)
{
	enum { N = 500, ROOMS = 7, NICKS = 40 };
	struct rooms r;
	int room_of[N], nick_of[N];
	unsigned seed = 12345;

	(void)state;
	assert_int_equal(rooms_init(&r, N, ROOMS, 60), 0);
	for (int i = 0; i < N; i++)
		room_of[i] = -1;
	for (int step = 0; step < 20000; step++) {
		int id = (int)((seed = seed * 1103515245u + 12345u) >> 8) % N;
		int rm = (int)((seed = seed * 1103515245u + 12345u) >> 8) %
		    (ROOMS + 1);
		int nk =
		    (int)((seed = seed * 1103515245u + 12345u) >> 8) % NICKS;
		char room[16], nick[16];
		int in_room = 0, taken = 0, nrooms = 0;
		enum rooms_result want, got;

		snprintf(room, sizeof(room), "r%d", rm);
		snprintf(nick, sizeof(nick), "n%d", nk);
		for (int j = 0; j < N; j++) {
			if (room_of[j] == rm) {
				in_room++;
				taken |= nick_of[j] == nk;
			}
		}
		for (int k = 0; k <= ROOMS; k++)
			for (int j = 0; j < N; j++)
				if (room_of[j] == k) {
					nrooms++;
					break;
				}
		if (room_of[id] >= 0 && step % 3 == 0) {
			rooms_leave(&r, (uint32_t)id);
			room_of[id] = -1;
		} else if (room_of[id] < 0) {
			want = taken	  ? ROOMS_NICK_TAKEN :
			    in_room >= 60 ? ROOMS_ROOM_FULL :
			    in_room == 0 && nrooms >= ROOMS ?
					    ROOMS_TOO_MANY_ROOMS :
					    ROOMS_OK;
			got = rooms_enter(&r, (uint32_t)id, nick, room);
			assert_int_equal(got, want);
			if (got == ROOMS_OK) {
				room_of[id] = rm;
				nick_of[id] = nk;
			}
		} else if (step % 3 == 1) {
			int mine = 0, alone = 0;

			for (int j = 0; j < N; j++) {
				mine |= room_of[j] == rm &&
				    nick_of[j] == nick_of[id];
				alone += room_of[j] == room_of[id];
			}
			want = room_of[id] == rm ? ROOMS_OK :
			    mine		 ? ROOMS_NICK_TAKEN :
			    in_room >= 60	 ? ROOMS_ROOM_FULL :
			    in_room == 0 && nrooms - (alone == 1) >= ROOMS ?
					    ROOMS_TOO_MANY_ROOMS :
					    ROOMS_OK;
			got = rooms_move(&r, (uint32_t)id, room);
			assert_int_equal(got, want);
			if (got == ROOMS_OK)
				room_of[id] = rm;
		} else {
			int clash = 0;

			for (int j = 0; j < N; j++)
				clash |= j != id && room_of[j] == room_of[id] &&
				    nick_of[j] == nk;
			got = rooms_rename(&r, (uint32_t)id, nick);
			assert_int_equal(got,
			    clash ? ROOMS_NICK_TAKEN : ROOMS_OK);
			if (got == ROOMS_OK)
				nick_of[id] = nk;
		}
		/* Totals always agree with the model. */
		unsigned members = 0;

		for (int j = 0; j < N; j++)
			members += room_of[j] >= 0;
		assert_int_equal(r.nmembers, members);
	}
	for (int k = 0; k <= ROOMS; k++) {
		char room[16];
		unsigned n = 0;
		struct room *p;

		snprintf(room, sizeof(room), "r%d", k);
		for (int j = 0; j < N; j++)
			n += room_of[j] == k;
		p = rooms_find(&r, room);
		if (n == 0)
			assert_null(p);
		else
			assert_int_equal(p->nmembers, n);
	}
	rooms_free(&r);
}

static unsigned gone_count;
static char gone_name[CHAT_NAME_MAX + 1];

static void
note_gone(struct room *room, void *arg)
{
	assert_ptr_equal(arg, &gone_count);
	gone_count++;
	strcpy(gone_name, room->name);
}

/* nids counts members with ids, through moves; gone sees each freed room. */
static void
test_ids_count_and_gone(void **state)
{
	struct rooms r;
	struct room *p;

	(void)state;
	assert_int_equal(rooms_init(&r, 8, 10, 10), 0);
	r.gone = note_gone;
	r.gone_arg = &gone_count;
	gone_count = 0;
	rooms_set_ids(&r, 0, true);
	assert_int_equal(rooms_enter(&r, 0, "alice", "dev"), ROOMS_OK);
	assert_int_equal(rooms_enter(&r, 1, "bob", "dev"), ROOMS_OK);
	p = rooms_find(&r, "dev");
	assert_int_equal(p->nids, 1);
	assert_int_equal(p->hist.nlines, 0);
	rooms_set_ids(&r, 1, true);
	assert_int_equal(p->nids, 2);
	rooms_set_ids(&r, 1, false);
	assert_int_equal(p->nids, 1);
	/* alice moves: her flag goes with her. */
	assert_int_equal(rooms_move(&r, 0, "ops"), ROOMS_OK);
	assert_int_equal(p->nids, 0);
	assert_int_equal(rooms_find(&r, "ops")->nids, 1);
	assert_int_equal(gone_count, 0);
	rooms_leave(&r, 1);
	assert_int_equal(gone_count, 1);
	assert_string_equal(gone_name, "dev");
	/* Leaving clears the flag: the id's next member starts without. */
	rooms_leave(&r, 0);
	assert_int_equal(gone_count, 2);
	assert_int_equal(rooms_enter(&r, 0, "carol", "dev"), ROOMS_OK);
	assert_int_equal(rooms_find(&r, "dev")->nids, 0);
	rooms_free(&r);
	assert_int_equal(gone_count, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enter_and_leave),
		cmocka_unit_test(test_nick_unique_per_room),
		cmocka_unit_test(test_look_alike_nicks),
		cmocka_unit_test(test_rename_own_spelling),
		cmocka_unit_test(test_bad_names_and_ids),
		cmocka_unit_test(test_room_full),
		cmocka_unit_test(test_max_rooms),
		cmocka_unit_test(test_lower_limits_keep_existing),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_who_sorted),
		cmocka_unit_test(test_who_cut_to_fit),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_ids_count_and_gone),
	};

	return cmocka_run_group_tests_name("rooms", tests, NULL, NULL);
}
