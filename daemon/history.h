/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub's history of its rooms (PROTOCOL.md section 6): the MSG and ME
 * lines last said in each room, with their ids, replayed to a member that
 * asks (greeting last= or since=). Pure logic, no I/O: hub.c formats and
 * sends, tests/unit/test_history.c tests.
 *
 * Bounds, applied at each append (a reload that lowers them trims at the
 * next one): per room at most lim.lines lines and lim.bytes bytes of lines;
 * all rooms together at most lim.total bytes, each line counted with
 * HISTORY_LINE_OVERHEAD more (its header and malloc's), so lim.total is the
 * bound of the history's memory whatever the number of rooms. Past it, the
 * oldest line of all rooms goes first.
 *
 * A room's history lives in its struct history_room (in struct room) and
 * is freed with it; the hub keeps it in memory only. Ids must increase
 * across appends (the hub has one sequence for all rooms), so the oldest
 * line of all rooms is always the first of its room.
 */
#ifndef ECHOD_HISTORY_H
#define ECHOD_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_LINES_MAX 10000 /* [chat] history */
#define HISTORY_LINE_OVERHEAD 64 /* per line, against lim.total */

struct history_room;

struct history_line {
	struct history_line *rnext; /* its room's next (newer) line */
	struct history_line *gprev, *gnext; /* all rooms, older to newer */
	struct history_room *room;
	int64_t id;
	uint32_t len;
	char text[]; /* one whole line ending in "\n", without its id */
};

struct history_room {
	struct history_line *first, *last; /* oldest, newest */
	uint32_t nlines;
	size_t nbytes;	  /* of the lines' text */
	int64_t start_id; /* ids up to this one were before the room was */
	int64_t lost_id;  /* the newest id dropped or not stored; 0: none */
};

struct history_limits {
	uint32_t lines; /* per room; 0: keep nothing */
	size_t bytes;	/* per room, of the lines' text */
	size_t total;	/* all rooms, each line + HISTORY_LINE_OVERHEAD */
};

struct history {
	struct history_line *oldest, *newest;
	size_t total; /* counted as lim.total counts */
	size_t nlines;
};

void history_init(struct history *h);
/* A new room's history; start_id: the newest id given out so far. */
void history_room_init(struct history_room *hr, int64_t start_id);
/* Free the room's lines (the room is going). */
void history_room_free(struct history *h, struct history_room *hr);

/*
 * Store line[0..len) (a whole line as sent to members without an id) as
 * id in hr, dropping old lines to stay within lim. id must be greater than
 * any id stored before. A line that cannot be stored (history off, longer
 * than a bound, no memory) is lost: it counts for gap. Returns 0, or -1
 * if it was lost for want of memory.
 */
int history_append(struct history *h, struct history_room *hr,
    const struct history_limits *lim, int64_t id, const char *line,
    size_t len);

/* What to replay: count lines from first on (follow rnext). */
struct history_replay {
	const struct history_line *first;
	uint32_t count;
	bool gap; /* lines after since may be missing */
};

/*
 * Select the replay for last (-1: not asked) and since (0: not asked):
 * the lines with an id above since, of those the last `last`, and at most
 * max (the [chat] history now in force). gap only with since: the room's
 * history began after since (a new room, a new hub), or a line after since
 * was dropped, or max cut some. Bounded by the room's lines.
 */
void history_select(const struct history_room *hr, int32_t last,
    int64_t since, uint32_t max, struct history_replay *out);

#endif
