/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub's room history (daemon/history.c). Input: one op per three
 * bytes on 4 rooms: append a line (its length from the input), select a
 * replay (last, since), free a room (its last member left), new limits (a
 * reload, maybe lower). Properties, after every op:
 * - the lists agree: every room's lines, in order, are the lines of all
 *   rooms in the global list that belong to it; counts and totals add up;
 *   ids increase along both;
 * - after an append to a room, it holds at most lim.lines lines and
 *   lim.bytes bytes, and all rooms at most lim.total (each line with
 *   HISTORY_LINE_OVERHEAD);
 * - a replay is the room's last lines with ids above since, at most last
 *   and max of them, in order; no gap without since; a since at or past
 *   every id given, with nothing lost past it and the room begun before
 *   it, is 0 lines, complete.
 */
#include <string.h>

#include "fuzz.h"
#include "history.h"

#define NR 4

static struct history h;
static struct history_room room[NR];
static char text[1024];

static void
check_lists(void)
{
	size_t lines[NR] = { 0 }, bytes[NR] = { 0 }, n = 0, total = 0;
	const struct history_line *l, *want[NR];
	int64_t prev = 0;

	for (int r = 0; r < NR; r++)
		want[r] = room[r].first;
	for (l = h.oldest; l != NULL; l = l->gnext) {
		int r = (int)(l->room - room);

		FUZZ_ASSERT(r >= 0 && r < NR && l == want[r]);
		FUZZ_ASSERT(l->id > prev);
		FUZZ_ASSERT(l->gnext != NULL || l == h.newest);
		FUZZ_ASSERT(l->gprev == NULL || l->gprev->gnext == l);
		prev = l->id;
		want[r] = l->rnext;
		lines[r]++;
		bytes[r] += l->len;
		total += l->len + HISTORY_LINE_OVERHEAD;
		n++;
	}
	for (int r = 0; r < NR; r++) {
		FUZZ_ASSERT(want[r] == NULL);
		FUZZ_ASSERT(room[r].nlines == lines[r]);
		FUZZ_ASSERT(room[r].nbytes == bytes[r]);
		FUZZ_ASSERT((room[r].first == NULL) == (room[r].last == NULL));
	}
	FUZZ_ASSERT(h.nlines == n && h.total == total);
}

static void
check_select(int r, int32_t last, int64_t since, uint32_t max, int64_t next)
{
	const struct history_room *hr = &room[r];
	const struct history_line *l;
	struct history_replay rp;
	uint32_t after = 0, skip, i;

	history_select(hr, last, since, max, &rp);
	for (l = hr->first; l != NULL; l = l->rnext)
		after += l->id > since;
	FUZZ_ASSERT(rp.count <= after && rp.count <= max);
	FUZZ_ASSERT(last < 0 || rp.count <= (uint32_t)last);
	FUZZ_ASSERT(rp.count == after ||
	    rp.count == (last >= 0 && (uint32_t)last < max ? (uint32_t)last : max));
	FUZZ_ASSERT(since > 0 || !rp.gap);
	/* The last count of those after since, in order. */
	skip = hr->nlines - rp.count;
	for (l = hr->first, i = 0; i < skip; i++)
		l = l->rnext;
	FUZZ_ASSERT(rp.count == 0 || l == rp.first);
	for (i = 0; i < rp.count; i++, l = l->rnext)
		FUZZ_ASSERT(l != NULL && l->id > since);
	if (since >= next - 1 && hr->lost_id <= since && hr->start_id <= since)
		FUZZ_ASSERT(rp.count == 0 && !rp.gap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct history_limits lim = { 5, 400, 1200 };
	int64_t id = 1000;

	history_init(&h);
	for (int r = 0; r < NR; r++)
		history_room_init(&room[r], id);
	memset(text, 'x', sizeof(text));
	for (size_t i = 0; i + 3 <= size; i += 3) {
		int r = data[i + 1] % NR;
		size_t len = 1 + data[i + 2] * 2; /* up to 511 */

		switch (data[i] % 5) {
		case 0:
		case 1:
			text[len - 1] = '\n';
			(void)history_append(&h, &room[r], &lim, ++id, text, len);
			text[len - 1] = 'x';
			FUZZ_ASSERT(room[r].nlines <= lim.lines);
			FUZZ_ASSERT(room[r].nbytes <= lim.bytes);
			FUZZ_ASSERT(h.total <= lim.total);
			FUZZ_ASSERT(lim.lines > 0 || room[r].nlines == 0);
			break;
		case 2:
			check_select(r, (int32_t)(data[i + 2] % 8) - 1,
			    data[i] & 0x80 ? id - data[i + 2] % 16 : 0,
			    1 + data[i] % 7, id + 1);
			check_select(r, -1, INT64_MAX, HISTORY_LINES_MAX, id + 1);
			break;
		case 3:
			history_room_free(&h, &room[r]);
			history_room_init(&room[r], id);
			break;
		case 4:
			lim.lines = data[i + 1] % 8;
			lim.bytes = 64 + (size_t)data[i + 2] * 4;
			lim.total = 256 + (size_t)data[i + 2] * 16;
			break;
		}
		check_lists();
	}
	for (int r = 0; r < NR; r++)
		history_room_free(&h, &room[r]);
	FUZZ_ASSERT(h.nlines == 0 && h.total == 0 && h.oldest == NULL);
	return 0;
}
