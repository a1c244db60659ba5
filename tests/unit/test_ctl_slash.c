/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/slash.c: typed lines into messages and commands, and
 * the CHAT/1 lines they make.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "slash.h"
#include "utf8.h"

static struct slash s;

static enum slash_kind
parse(const char *line)
{
	return slash_parse(line, strlen(line), &s);
}

/* The wire line for a typed line, or NULL. */
static const char *
wire(const char *line)
{
	static char buf[512];

	parse(line);
	return slash_wire(&s, buf, sizeof(buf)) < 0 ? NULL : buf;
}

static void
test_messages(void **state)
{
	(void)state;
	assert_string_equal(wire("hello"), "MSG hello\n");
	assert_string_equal(wire(" /who"), "MSG  /who\n"); /* not column 0 */
	assert_string_equal(wire("//who"), "MSG /who\n");
	assert_string_equal(wire("//"), "MSG /\n");
	assert_string_equal(wire("你好 😀"), "MSG 你好 😀\n");
	assert_string_equal(wire("tab\there"), "MSG tab\there\n");
	assert_int_equal(parse(""), SLASH_NONE);
	assert_null(wire(""));
}

static void
test_commands(void **state)
{
	(void)state;
	assert_string_equal(wire("/who"), "WHO\n");
	assert_string_equal(wire("/who  "), "WHO\n");
	assert_string_equal(wire("/WHO"), "WHO\n");
	assert_string_equal(wire("/nick bob"), "NICK bob\n");
	assert_string_equal(wire("/Nick  bob "), "NICK bob\n");
	assert_string_equal(wire("/join dev.ops-2"), "JOIN dev.ops-2\n");
	assert_string_equal(wire("/me waves  twice"), "ME waves  twice\n");
	assert_string_equal(wire("/quit"), "QUIT\n");
	assert_string_equal(wire("/quit gone fishing"), "QUIT gone fishing\n");
	assert_int_equal(parse("/help"), SLASH_HELP);
	assert_null(wire("/help"));
	assert_non_null(strstr(slash_help, "/nick NEW"));
	assert_int_equal(parse("/quit"), SLASH_QUIT);
	assert_int_equal(s.arglen, 0);
}

static void
test_errors(void **state)
{
	(void)state;
	assert_int_equal(parse("/nick"), SLASH_ERROR);
	assert_string_equal(s.error, "usage: /nick NEW");
	assert_int_equal(parse("/nick   "), SLASH_ERROR);
	assert_int_equal(parse("/join"), SLASH_ERROR);
	assert_string_equal(s.error, "usage: /join ROOM");
	assert_int_equal(parse("/me"), SLASH_ERROR);
	assert_string_equal(s.error, "usage: /me TEXT");
	assert_int_equal(parse("/who x"), SLASH_ERROR);
	assert_string_equal(s.error, "usage: /who");
	assert_int_equal(parse("/help me"), SLASH_ERROR);
	assert_int_equal(parse("/nick a b"), SLASH_ERROR);
	assert_string_equal(s.error,
	    "nick \"a b\" is not valid: use 1 to 32 "
	    "of A-Z a-z 0-9 _ . -");
	assert_int_equal(parse("/join #room"), SLASH_ERROR);
	assert_int_equal(parse("/nick 012345678901234567890123456789012"),
	    SLASH_ERROR);
	assert_int_equal(parse("/bogus x"), SLASH_ERROR);
	assert_string_equal(s.error,
	    "unknown command /bogus (/help lists them)");
	assert_int_equal(parse("/"), SLASH_ERROR);
	assert_string_equal(s.error, "unknown command / (/help lists them)");
	/* /whois is not /who; /w is no abbreviation. */
	assert_int_equal(parse("/whois"), SLASH_ERROR);
	assert_int_equal(parse("/w"), SLASH_ERROR);
	assert_null(wire("/bogus"));
}

/* Error messages quote user text cut on a character boundary. */
static void
test_error_quotes_whole_characters(void **state)
{
	char line[200] = "/";

	(void)state;
	for (int i = 0; i < 30; i++)
		strcat(line, "é");
	assert_int_equal(parse(line), SLASH_ERROR);
	assert_true(
	    utf8_valid((const unsigned char *)s.error, strlen(s.error)));
	strcpy(line, "/nick ");
	for (int i = 0; i < 30; i++)
		strcat(line, "é");
	assert_int_equal(parse(line), SLASH_ERROR);
	assert_true(
	    utf8_valid((const unsigned char *)s.error, strlen(s.error)));
}

/* A long /quit reason is cut, not refused: leaving always works. */
static void
test_quit_reason_cut(void **state)
{
	char line[1000] = "/quit ";
	const char *w;

	(void)state;
	for (int i = 0; i < 300; i++)
		strcat(line, "ü");
	w = wire(line);
	assert_non_null(w);
	assert_true(strlen(w) < 270);
	assert_true(utf8_valid((const unsigned char *)w, strlen(w)));
}

/* Input cleaning: controls and invalid bytes become U+FFFD, TAB stays. */
static void
test_input_clean(void **state)
{
	char out[64];
	size_t n;

	(void)state;
	n = input_clean("a\x1b[2J\tb\r\xff", 9, out, sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "a\xef\xbf\xbd[2J\tb\xef\xbf\xbd\xef\xbf\xbd");
	/* A cleaned line always makes a valid MSG. */
	parse(out);
	assert_non_null(wire(out));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_quotes_whole_characters),
		cmocka_unit_test(test_quit_reason_cut),
		cmocka_unit_test(test_input_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
