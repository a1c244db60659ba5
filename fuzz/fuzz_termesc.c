/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What chatctl does with bytes from a possibly hostile server: parse the
 * line (chat_parse_server) and print it through term_escape. Input: one
 * line as received, LF removed (the seeds are plain text). Properties:
 * - term_escape output never holds a byte below 0x20, nor 0x7F, is valid
 *   UTF-8 without C1 controls, format characters (Cf: bidi, zero-width,
 *   tags) or U+2028/U+2029, fits
 *   TERM_ESCAPE_MAX, and cut short to any capacity is a prefix of the whole
 *   output made of whole units (still valid UTF-8);
 * - utf8_sanitize output is valid UTF-8 without controls other than TAB,
 *   and leaves text that had none unchanged;
 * - utf8_trim_partial cuts valid text cut anywhere back to valid text;
 * - a parsed server line has valid names and, re-formatted by the hub's
 *   formatters, gives the same line back (round trip) when its text was
 *   already clean.
 */
#include <string.h>

#include "chatproto.h"
#include "fuzz.h"
#include "uniformat.h"
#include "utf8.h"

#define MAX_IN 65536

static char esc[TERM_ESCAPE_MAX(MAX_IN) + 1];
static char part[TERM_ESCAPE_MAX(MAX_IN) + 1];
static char clean[UTF8_SANITIZE_MAX(MAX_IN) + 1];

static void
check_escaped(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t cp;

	FUZZ_ASSERT(utf8_valid(u, n));
	while (i < n) {
		FUZZ_ASSERT(u[i] >= 0x20 && u[i] != 0x7f);
		len = utf8_decode(u + i, n - i, &cp);
		FUZZ_ASSERT(len > 0);
		FUZZ_ASSERT(cp >= 0x20 && cp != 0x7f);
		FUZZ_ASSERT(cp < 0x80 || cp > 0x9f);
		FUZZ_ASSERT(!(cp >= 0x202a && cp <= 0x202e));
		FUZZ_ASSERT(!(cp >= 0x2066 && cp <= 0x2069));
		FUZZ_ASSERT(!uniformat_is(cp));
		i += len;
	}
}

static void
escape_props(const unsigned char *in, size_t n, size_t cut)
{
	size_t need = term_escape(in, n, esc, sizeof(esc)), got;

	FUZZ_ASSERT(need <= TERM_ESCAPE_MAX(n) && need < sizeof(esc));
	FUZZ_ASSERT(strlen(esc) == need);
	check_escaped(esc, need);
	/* Cut short: a prefix of the whole, in whole units. */
	cut = cut % (need + 2);
	FUZZ_ASSERT(term_escape(in, n, part, cut) == need);
	if (cut == 0)
		return;
	got = strlen(part);
	FUZZ_ASSERT(got < cut);
	FUZZ_ASSERT(memcmp(part, esc, got) == 0);
	check_escaped(part, got);
	/* Cut only where the next unit (at most 9 bytes: "<U+E007F>") did
	 * not fit. */
	FUZZ_ASSERT(got == need || cut - 1 - got < 9);
}

static void
sanitize_props(const unsigned char *in, size_t n)
{
	size_t need = utf8_sanitize(in, n, clean, sizeof(clean)), i = 0, len;
	bool had_controls = false;
	uint32_t cp;

	FUZZ_ASSERT(need <= UTF8_SANITIZE_MAX(n) && need < sizeof(clean));
	FUZZ_ASSERT(utf8_valid((const unsigned char *)clean, need));
	while (i < need) {
		len = utf8_decode((const unsigned char *)clean + i, need - i,
		    &cp);
		FUZZ_ASSERT(len > 0);
		FUZZ_ASSERT(
		    (cp >= 0x20 || cp == '\t') && (cp < 0x7f || cp > 0x9f));
		i += len;
	}
	for (i = 0; i < n; i += len) {
		len = utf8_decode(in + i, n - i, &cp);
		if (len == 0 || (cp < 0x20 && cp != '\t') ||
		    (cp >= 0x7f && cp <= 0x9f)) {
			had_controls = true;
			break;
		}
	}
	if (!had_controls)
		FUZZ_ASSERT(need == n && memcmp(clean, in, n) == 0);
	/* Valid text cut anywhere, trimmed, is valid again. */
	for (size_t k = need > 8 ? need - 8 : 0; k <= need; k++) {
		size_t t = utf8_trim_partial((const unsigned char *)clean, k);

		FUZZ_ASSERT(t <= k && t + 3 >= k);
		FUZZ_ASSERT(utf8_valid((const unsigned char *)clean, t));
	}
}

static void
cstr(char *dst, struct chat_str s)
{
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
}

static void
server_props(const char *line, size_t n)
{
	static char again[3 * MAX_IN + 64 + CHAT_ID_PREFIX_MAX];
	static char prefixed[sizeof(again)];
	char nick[CHAT_NAME_MAX + 1], nick2[CHAT_NAME_MAX + 1];
	char room[CHAT_NAME_MAX + 1], word[CHAT_NAME_MAX + 1];
	struct chat_server_evt e;
	struct chat_str name;
	size_t pos = 0, count = 0;
	int r = chat_parse_server(line, n, &e), k = -1;

	FUZZ_ASSERT(r == 0 || r == CHAT_SRV_UNKNOWN || r == CHAT_SRV_MALFORMED);
	if (r != 0)
		return;
	FUZZ_ASSERT(utf8_valid((const unsigned char *)line, n));
	switch (e.type) {
	case CHAT_EVT_OK:
		FUZZ_ASSERT(e.members >= 1);
		cstr(nick, e.nick);
		cstr(room, e.room);
		k = chat_fmt_ok(again, sizeof(again), nick, room, e.members);
		break;
	case CHAT_EVT_MSG:
	case CHAT_EVT_ME:
		FUZZ_ASSERT(e.text.n >= 1 && e.unix_ms >= 0);
		FUZZ_ASSERT(chat_valid_name(e.nick.p, e.nick.n));
		cstr(nick, e.nick);
		k = (e.type == CHAT_EVT_MSG ? chat_fmt_msg : chat_fmt_me)(again,
		    sizeof(again), e.unix_ms, nick, e.text.p, e.text.n);
		/* Re-sanitizing changes only text that was not clean. */
		if (utf8_sanitize((const unsigned char *)e.text.p, e.text.n,
			clean, sizeof(clean)) != e.text.n ||
		    memcmp(clean, e.text.p, e.text.n) != 0)
			k = -1;
		break;
	case CHAT_EVT_JOIN:
		cstr(nick, e.nick);
		k = chat_fmt_join(again, sizeof(again), e.unix_ms, nick);
		break;
	case CHAT_EVT_PART:
		cstr(nick, e.nick);
		cstr(word, e.text);
		k = chat_fmt_part_detail(again, sizeof(again), e.unix_ms, nick,
		    word, e.detail.p, e.detail.n);
		/* Only a clean detail no longer than the cut comes back. */
		if (e.detail.n > CHAT_PART_DETAIL_MAX)
			k = -1;
		else if (e.detail.n > 0 &&
		    (utf8_sanitize((const unsigned char *)e.detail.p,
			 e.detail.n, clean, sizeof(clean)) != e.detail.n ||
			memcmp(clean, e.detail.p, e.detail.n) != 0))
			k = -1;
		break;
	case CHAT_EVT_NICK:
		cstr(nick, e.nick);
		cstr(nick2, e.nick2);
		k = chat_fmt_nick(again, sizeof(again), e.unix_ms, nick, nick2);
		break;
	case CHAT_EVT_WHO:
		while (chat_who_next(&e, &pos, &name)) {
			FUZZ_ASSERT(chat_valid_name(name.p, name.n));
			count++;
		}
		FUZZ_ASSERT(count == e.count);
		break;
	case CHAT_EVT_PONG:
		k = chat_fmt_pong(again, sizeof(again), e.text.p, e.text.n);
		break;
	case CHAT_EVT_BYE:
		cstr(word, e.text);
		k = chat_fmt_bye(again, sizeof(again), word);
		break;
	case CHAT_EVT_ERR:
		FUZZ_ASSERT(chat_valid_name(e.code.p, e.code.n));
		break;
	case CHAT_EVT_INFO:
		FUZZ_ASSERT(e.id == 0);
		break;
	case CHAT_EVT_JOINS:
	case CHAT_EVT_PARTS:
		while (chat_who_next(&e, &pos, &name)) {
			FUZZ_ASSERT(chat_valid_name(name.p, name.n));
			count++;
		}
		FUZZ_ASSERT(count == e.listed && count <= e.count);
		FUZZ_ASSERT(e.count >= 1 && e.count <= UINT32_MAX);
		k = chat_fmt_crowd(again, sizeof(again),
		    e.type == CHAT_EVT_PARTS, e.unix_ms, (uint32_t)e.count,
		    e.names.p, e.names.n);
		break;
	case CHAT_EVT_HIST_END:
		FUZZ_ASSERT(e.id == 0 && e.count <= UINT32_MAX);
		k = chat_fmt_hist_end(
		    again, sizeof(again), (uint32_t)e.count, e.gap);
		break;
	}
	FUZZ_ASSERT(!e.history || (e.id > 0 && (e.type == CHAT_EVT_MSG ||
						    e.type == CHAT_EVT_ME)));
	/* A line with an id comes back with the same prefix. */
	if (k >= 0 && e.id > 0) {
		memcpy(prefixed, again, (size_t)k);
		k = chat_fmt_with_id(again, sizeof(again), e.id, e.history,
		    prefixed, (size_t)k);
	}
	if (k >= 0) {
		FUZZ_ASSERT((size_t)k == n + 1 && again[n] == '\n');
		FUZZ_ASSERT(memcmp(again, line, n) == 0);
	}
	/* What chatctl prints of each field is safe. */
	escape_props((const unsigned char *)e.text.p, e.text.n, n);
	escape_props((const unsigned char *)e.names.p, e.names.n, n / 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	size_t n = size, cut = 0;

	if (size > MAX_IN)
		return 0;
	/* Where to cut the output short: from the input's bytes. */
	for (size_t i = 0; i < n; i++)
		cut = cut * 31 + data[i];
	escape_props((const unsigned char *)line, n, cut);
	sanitize_props((const unsigned char *)line, n);
	server_props(line, n);
	return 0;
}
