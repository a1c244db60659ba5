/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tab completion for chatctl talk: the room's members, kept from the
 * events the server sends, and what a Tab makes of the word before the
 * cursor. Pure: no I/O, no allocation.
 *
 * At the start of the line a nick completes as "alice: ", elsewhere as
 * "alice "; a word "/jo" at the start completes a slash command as
 * "/join ". Nicks match on a case-insensitive prefix of at least one
 * character; our own nick is never offered. Candidates come in order:
 * the most recent speakers first, then the others alphabetically.
 */
#ifndef CHATCTL_COMPLETE_H
#define CHATCTL_COMPLETE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chatproto.h"

/* Members kept: a larger room completes only the first this many. */
#define COMPLETE_MEMBERS_MAX 1024
/* Candidates of one Tab: beyond this, the rest are not offered. */
#define COMPLETE_CANDS_MAX 64
/* A candidate with its suffix: "/" or nick, ": ", NUL. */
#define COMPLETE_WORD_MAX (CHAT_NAME_MAX + 4)

struct complete_member {
	char name[CHAT_NAME_MAX + 1];
	uint64_t spoke; /* when it last spoke (a sequence number), 0: never */
};

struct complete_roster {
	char self[CHAT_NAME_MAX + 1];
	struct complete_member m[COMPLETE_MEMBERS_MAX];
	size_t n;
	uint64_t seq; /* the last "spoke" given */
	unsigned hidden_who; /* WHO answers to swallow (asked by chatctl) */
};

void complete_init(struct complete_roster *r);

/*
 * Follow one server event: OK (self; the list starts again with just
 * self), WHO (the list is replaced), JOIN, PART, JOINS and PARTS (the
 * names they list; a crowd's unlisted names stay unknown until a WHO),
 * NICK, MSG and ME (the
 * speaker moves to the front of the candidates). Returns whether the
 * event is to be shown: false only for a WHO answering complete_who_asked.
 */
bool complete_event(struct complete_roster *r,
    const struct chat_server_evt *ev);

/* chatctl sent a WHO of its own: its answer is not to be shown. */
void complete_who_asked(struct complete_roster *r);

struct complete_cands {
	size_t start; /* the word being completed: line[start..point) */
	size_t n;
	char word[COMPLETE_CANDS_MAX][COMPLETE_WORD_MAX]; /* suffix included */
};

/*
 * The candidates for the word before point in line[0..len) (point <=
 * len). The word starts after the last space before point. Returns the
 * number of candidates (also in c->n); 0: nothing to complete.
 */
size_t complete_candidates(const struct complete_roster *r, const char *line,
    size_t len, size_t point, struct complete_cands *c);

#endif
