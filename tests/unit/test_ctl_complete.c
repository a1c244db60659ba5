/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for ctl/complete.c: the member list and Tab's candidates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "complete.h"

static struct complete_roster r;
static struct complete_cands c;

static bool
ev(const char *line)
{
	struct chat_server_evt e;

	assert_int_equal(chat_parse_server(line, strlen(line), &e), 0);
	return complete_event(&r, &e);
}

/* The candidates for line, point at its end, as one string. */
static const char *
tab(const char *line)
{
	static char all[COMPLETE_CANDS_MAX * COMPLETE_WORD_MAX];
	size_t len = 0;

	complete_candidates(&r, line, strlen(line), strlen(line), &c);
	all[0] = '\0';
	for (size_t i = 0; i < c.n; i++)
		len += (size_t)snprintf(all + len, sizeof(all) - len, "%s%s",
		    i ? "|" : "", c.word[i]);
	return all;
}

static void
room(void)
{
	complete_init(&r);
	assert_true(ev("OK bob lobby 4"));
	assert_true(ev("WHO alma alice bob Carl"));
}

static void
test_nicks_at_start_and_inside(void **state)
{
	(void)state;
	room();
	assert_string_equal(tab("al"), "alice: |alma: ");
	assert_int_equal(c.start, 0);
	assert_string_equal(tab("AL"), "alice: |alma: ");
	assert_string_equal(tab("hi al"), "alice |alma ");
	assert_int_equal(c.start, 3);
	assert_string_equal(tab("c"), "Carl: ");
	/* Ourselves never; nothing for an empty word or no match. */
	assert_string_equal(tab("bo"), "");
	assert_string_equal(tab(""), "");
	assert_string_equal(tab("hi "), "");
	assert_string_equal(tab("zz"), "");
	/* Point inside the line: the word before it. */
	complete_candidates(&r, "al there", 8, 2, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.start, 0);
}

static void
test_speakers_first(void **state)
{
	(void)state;
	room();
	assert_true(ev("MSG 1 alma hello"));
	assert_string_equal(tab("al"), "alma: |alice: ");
	assert_true(ev("ME 2 alice waves"));
	assert_string_equal(tab("al"), "alice: |alma: ");
}

static void
test_follows_join_part_nick(void **state)
{
	(void)state;
	room();
	assert_true(ev("JOIN 1 alfred"));
	assert_string_equal(tab("alf"), "alfred: ");
	assert_true(ev("PART 2 alfred quit"));
	assert_string_equal(tab("alf"), "");
	assert_true(ev("NICK 3 alma zora"));
	assert_string_equal(tab("al"), "alice: ");
	assert_string_equal(tab("z"), "zora: ");
	/* A new OK (JOIN elsewhere): just us until the WHO. */
	assert_true(ev("OK bob dev 2"));
	assert_string_equal(tab("al"), "");
	assert_true(ev("WHO bob dan"));
	assert_string_equal(tab("d"), "dan: ");
	/* Our own nick change: self follows the OK. */
	assert_true(ev("OK robert dev 2"));
	assert_true(ev("WHO robert dan bob"));
	assert_string_equal(tab("b"), "bob: ");
	assert_string_equal(tab("r"), "");
}

static void
test_follows_joins_parts(void **state)
{
	(void)state;
	room();
	assert_true(ev("@1 JOINS 5 30 alfred alvin bob"));
	assert_string_equal(tab("al"), "alfred: |alice: |alma: |alvin: ");
	assert_true(ev("@2 PARTS 5 2 alma alfred"));
	assert_string_equal(tab("al"), "alice: |alvin: ");
	/* A name not listed before: nothing to take away. */
	assert_true(ev("@3 PARTS 5 1 zed"));
	assert_string_equal(tab("al"), "alice: |alvin: ");
}

static void
test_hidden_who(void **state)
{
	(void)state;
	room();
	complete_who_asked(&r);
	assert_false(ev("WHO alice bob"));
	assert_true(ev("WHO alice bob"));
	assert_string_equal(tab("al"), "alice: ");
	complete_who_asked(&r);
	complete_who_asked(&r);
	assert_false(ev("WHO bob"));
	assert_false(ev("WHO bob"));
	assert_true(ev("WHO bob"));
}

static void
test_commands(void **state)
{
	(void)state;
	room();
	assert_string_equal(tab("/jo"), "/join ");
	assert_string_equal(tab("/"), "/who |/nick |/join |/me |/quit |/help ");
	assert_string_equal(tab("/QU"), "/quit ");
	assert_string_equal(tab("/x"), "");
	assert_string_equal(tab("//jo"), "");
	/* Not at the start: a word, not a command. */
	assert_string_equal(tab("say /jo"), "");
}

static void
test_bounded(void **state)
{
	char nick[16], who[COMPLETE_MEMBERS_MAX * 8 + 16];
	size_t len;

	(void)state;
	complete_init(&r);
	assert_true(ev("OK bob lobby 2"));
	/* More joins than kept: the list stops growing. */
	for (int i = 0; i < COMPLETE_MEMBERS_MAX + 100; i++) {
		snprintf(nick, sizeof(nick), "JOIN 1 n%d", i);
		assert_true(ev(nick));
	}
	assert_int_equal(r.n, COMPLETE_MEMBERS_MAX);
	/* More matches than candidates: the first COMPLETE_CANDS_MAX. */
	tab("n");
	assert_int_equal(c.n, COMPLETE_CANDS_MAX);
	len = (size_t)snprintf(who, sizeof(who), "WHO");
	for (int i = 0; i < 100; i++)
		len +=
		    (size_t)snprintf(who + len, sizeof(who) - len, " w%d", i);
	assert_true(ev(who));
	assert_int_equal(r.n, 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nicks_at_start_and_inside),
		cmocka_unit_test(test_speakers_first),
		cmocka_unit_test(test_follows_join_part_nick),
		cmocka_unit_test(test_follows_joins_parts),
		cmocka_unit_test(test_hidden_who),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
