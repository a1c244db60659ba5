/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for common/chatproto.c: the CHAT/1 grammar of PROTOCOL.md
 * section 3, both directions, and the round trip formatter -> parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chatproto.h"
#include "utf8.h"

#define FFFD "\xef\xbf\xbd"
#define N32 "abcdefghijklmnopqrstuvwxyz012345"
#define N33 N32 "6"

/* ---- helpers ---- */

static void
assert_str(struct chat_str s, const char *want)
{
	assert_int_equal(s.n, strlen(want));
	assert_memory_equal(s.p, want, s.n);
}

/* Client line (a C string) with greeted state: expect code. */
static int
cparse(const char *line, bool greeted, struct chat_client_cmd *out)
{
	return chat_parse_client(line, strlen(line), greeted, out);
}

static void
expect_cerr(const char *line, bool greeted, enum chat_err want)
{
	struct chat_client_cmd c;

	assert_int_equal(cparse(line, greeted, &c), want);
	/* A refused line leaves nothing behind that could be used. */
	assert_null(c.nick.p);
	assert_null(c.room.p);
	assert_null(c.text.p);
}

static int
sparse(const char *line, struct chat_server_evt *e)
{
	return chat_parse_server(line, strlen(line), e);
}

static void
expect_malformed(const char *line)
{
	struct chat_server_evt e;

	assert_int_equal(sparse(line, &e), CHAT_SRV_MALFORMED);
}

/* A formatted line: exactly one LF, at its end; parse it as a server line. */
static void
parse_formatted(const char *buf, int n, struct chat_server_evt *e)
{
	assert_true(n > 0);
	assert_int_equal(strlen(buf), (size_t)n);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', (size_t)n - 1));
	assert_int_equal(chat_parse_server(buf, (size_t)n - 1, e), 0);
}

static void
parse_formatted_client(
    const char *buf, int n, struct chat_client_cmd *c, bool greeted)
{
	assert_true(n > 0);
	assert_int_equal(strlen(buf), (size_t)n);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(
	    chat_parse_client(buf, (size_t)n - 1, greeted, c), CHAT_OK);
}

struct rng {
	uint64_t s;
};

static uint32_t
rng_next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (uint32_t)(r->s >> 16);
}

/* ---- names, tokens, codes ---- */

static void
test_name_length_bounds(void **state)
{
	(void)state;
	assert_true(chat_valid_name("a", 1));
	assert_true(chat_valid_name(N32, 32));
	assert_false(chat_valid_name(N33, 33));
	assert_false(chat_valid_name("", 0));
}

static void
test_name_charset_allowed(void **state)
{
	(void)state;
	assert_true(chat_valid_name("AZaz09_.-", 9));
	assert_true(chat_valid_name("...", 3));
	assert_true(chat_valid_name("-", 1));
}

static void
test_name_charset_refused(void **state)
{
	static const char *bad[] = {"a b", "a\tb", "a/b", "a@b", "a:b", "a+b",
	    "a,b", "a~b", "caf\xc3\xa9", "a\x1b"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(chat_valid_name(bad[i], strlen(bad[i])));
	assert_false(chat_valid_name("a\0b", 3));
	/* Each byte just outside the ranges. */
	assert_false(chat_valid_name("@", 1)); /* 'A' - 1 */
	assert_false(chat_valid_name("[", 1)); /* 'Z' + 1 */
	assert_false(chat_valid_name("`", 1)); /* 'a' - 1 */
	assert_false(chat_valid_name("{", 1)); /* 'z' + 1 */
	assert_false(chat_valid_name("/", 1)); /* '0' - 1 */
	assert_false(chat_valid_name(":", 1)); /* '9' + 1 */
}

static void
test_token_charset(void **state)
{
	(void)state;
	assert_true(chat_valid_token("!~abc123", 8));
	assert_false(chat_valid_token("", 0));
	assert_false(chat_valid_token("a b", 3));
	assert_false(chat_valid_token("a\x7f", 2));
	assert_false(chat_valid_token("\xc3\xa9", 2));
}

static void
test_err_code_spellings(void **state)
{
	(void)state;
	assert_string_equal(
	    chat_err_code(CHAT_ERR_BAD_GREETING), "bad-greeting");
	assert_string_equal(chat_err_code(CHAT_ERR_BAD_NICK), "bad-nick");
	assert_string_equal(chat_err_code(CHAT_ERR_NICK_TAKEN), "nick-taken");
	assert_string_equal(chat_err_code(CHAT_ERR_BAD_ROOM), "bad-room");
	assert_string_equal(
	    chat_err_code(CHAT_ERR_LINE_TOO_LONG), "line-too-long");
	assert_string_equal(chat_err_code(CHAT_ERR_BAD_UTF8), "bad-utf8");
	assert_string_equal(
	    chat_err_code(CHAT_ERR_UNKNOWN_COMMAND), "unknown-command");
	assert_string_equal(chat_err_code(CHAT_ERR_ROOM_FULL), "room-full");
	assert_string_equal(chat_err_code(CHAT_ERR_BAD_SYNTAX), "bad-syntax");
	assert_null(chat_err_code(CHAT_ERR_COUNT_));
	assert_null(chat_err_code((enum chat_err) - 1));
}

static void
test_err_lookup_round_trip(void **state)
{
	int e;
	const char *s;

	(void)state;
	for (e = CHAT_ERR_BAD_GREETING; e < CHAT_ERR_COUNT_; e++) {
		s = chat_err_code((enum chat_err)e);
		assert_int_equal(chat_err_lookup(s, strlen(s)), e);
		assert_true(strlen(chat_err_text((enum chat_err)e)) > 0);
	}
	assert_string_equal(chat_err_text(CHAT_ERR_COUNT_), "");
	assert_string_equal(chat_err_text(CHAT_OK), "");
	assert_int_equal(chat_err_lookup("ok", 2), -1);
	assert_int_equal(chat_err_lookup("bad-nic", 7), -1);
	assert_int_equal(chat_err_lookup("bad-nickx", 9), -1);
	assert_int_equal(chat_err_lookup("", 0), -1);
}

/* ---- client: greeting ---- */

static void
test_greeting_nick_only(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("CHAT/1 alice", false, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_GREETING);
	assert_str(c.nick, "alice");
	assert_int_equal(c.room.n, 0);
}

static void
test_greeting_nick_and_room(void **state)
{
	struct chat_client_cmd c;
	static const char line[] = "CHAT/1 alice lobby";

	(void)state;
	assert_int_equal(cparse(line, false, &c), CHAT_OK);
	assert_str(c.nick, "alice");
	assert_str(c.room, "lobby");
	/* Results point into the line: nothing is copied. */
	assert_ptr_equal(c.nick.p, line + 7);
	assert_ptr_equal(c.room.p, line + 13);
}

static void
test_greeting_nick_32_vs_33(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("CHAT/1 " N32, false, &c), CHAT_OK);
	expect_cerr("CHAT/1 " N33, false, CHAT_ERR_BAD_NICK);
}

static void
test_greeting_room_32_vs_33(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("CHAT/1 bob " N32, false, &c), CHAT_OK);
	expect_cerr("CHAT/1 bob " N33, false, CHAT_ERR_BAD_ROOM);
}

static void
test_greeting_bad_nick_and_room(void **state)
{
	(void)state;
	expect_cerr("CHAT/1 b@b", false, CHAT_ERR_BAD_NICK);
	expect_cerr("CHAT/1 bob r/r", false, CHAT_ERR_BAD_ROOM);
	expect_cerr("CHAT/1 bob\r", false, CHAT_ERR_BAD_NICK);
	expect_cerr("CHAT/1 bob\tlobby", false, CHAT_ERR_BAD_NICK);
}

static void
test_greeting_empty_fields(void **state)
{
	(void)state;
	expect_cerr("CHAT/1 ", false, CHAT_ERR_BAD_NICK);
	expect_cerr("CHAT/1 bob ", false, CHAT_ERR_BAD_ROOM);
	expect_cerr("CHAT/1  bob", false, CHAT_ERR_BAD_NICK);
}

static void
test_greeting_too_many_fields(void **state)
{
	(void)state;
	/* A third field is an option now: one of bad bytes is refused. */
	expect_cerr("CHAT/1 bob lobby Extra", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob  lobby", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob lobby ", false, CHAT_ERR_BAD_GREETING);
}

static void
test_greeting_wrong_magic(void **state)
{
	(void)state;
	expect_cerr("CHAT/1", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("chat/1 bob", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/2 bob", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1\tbob", false, CHAT_ERR_BAD_GREETING);
	expect_cerr(" CHAT/1 bob", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("", false, CHAT_ERR_BAD_GREETING);
}

static void
test_greeting_required_first(void **state)
{
	(void)state;
	expect_cerr("MSG hello", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("WHO", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("QUIT", false, CHAT_ERR_BAD_GREETING);
}

static void
test_greeting_bad_utf8(void **state)
{
	(void)state;
	expect_cerr("CHAT/1 \xc0\xaf", false, CHAT_ERR_BAD_UTF8);
	expect_cerr("\xff", false, CHAT_ERR_BAD_UTF8);
}

static void
test_greeting_retry_after_refusal(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	/* The parser keeps no state: a refused greeting can be retried. */
	expect_cerr("CHAT/1 " N33, false, CHAT_ERR_BAD_NICK);
	assert_int_equal(cparse("CHAT/1 bob", false, &c), CHAT_OK);
}

static void
test_greeting_after_greeted(void **state)
{
	(void)state;
	expect_cerr("CHAT/1 bob", true, CHAT_ERR_UNKNOWN_COMMAND);
}

/* ---- client: commands ---- */

static void
test_msg_text(void **state)
{
	struct chat_client_cmd c;
	static const char line[] = "MSG hello world";

	(void)state;
	assert_int_equal(cparse(line, true, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_MSG);
	assert_str(c.text, "hello world");
	assert_ptr_equal(c.text.p, line + 4);
}

static void
test_msg_keeps_spaces_and_tabs(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("MSG  a\tb  ", true, &c), CHAT_OK);
	assert_str(c.text, " a\tb  ");
	assert_int_equal(cparse("MSG  ", true, &c), CHAT_OK);
	assert_str(c.text, " ");
}

static void
test_msg_empty_refused(void **state)
{
	(void)state;
	expect_cerr("MSG", true, CHAT_ERR_BAD_SYNTAX);
	expect_cerr("MSG ", true, CHAT_ERR_BAD_SYNTAX);
	expect_cerr("ME", true, CHAT_ERR_BAD_SYNTAX);
	expect_cerr("ME ", true, CHAT_ERR_BAD_SYNTAX);
}

static void
test_msg_controls_left_for_sanitizer(void **state)
{
	struct chat_client_cmd c;
	static const char line[] = "MSG a\0\x1b[2J\xc2\x9b";

	(void)state;
	assert_int_equal(
	    chat_parse_client(line, sizeof(line) - 1, true, &c), CHAT_OK);
	assert_int_equal(c.text.n, sizeof(line) - 1 - 4);
}

static void
test_msg_bad_utf8(void **state)
{
	(void)state;
	expect_cerr("MSG caf\xc3", true, CHAT_ERR_BAD_UTF8);
	expect_cerr("MSG \xc0\xaf", true, CHAT_ERR_BAD_UTF8);
	expect_cerr("MSG \xed\xa0\x80", true, CHAT_ERR_BAD_UTF8);
	expect_cerr("MSG \xf4\x90\x80\x80", true, CHAT_ERR_BAD_UTF8);
	expect_cerr("MSG \x9b", true, CHAT_ERR_BAD_UTF8);
}

static void
test_me_text(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("ME waves", true, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_ME);
	assert_str(c.text, "waves");
}

static void
test_command_case_and_shape(void **state)
{
	(void)state;
	expect_cerr("msg hi", true, CHAT_ERR_UNKNOWN_COMMAND);
	expect_cerr("Msg hi", true, CHAT_ERR_UNKNOWN_COMMAND);
	expect_cerr("MSG\thi", true, CHAT_ERR_UNKNOWN_COMMAND);
	expect_cerr(" MSG hi", true, CHAT_ERR_UNKNOWN_COMMAND);
	expect_cerr("MSGX hi", true, CHAT_ERR_UNKNOWN_COMMAND);
	expect_cerr("MS hi", true, CHAT_ERR_UNKNOWN_COMMAND);
	expect_cerr("HELLO", true, CHAT_ERR_UNKNOWN_COMMAND);
	expect_cerr("", true, CHAT_ERR_UNKNOWN_COMMAND);
}

static void
test_command_with_nul_in_word(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(
	    chat_parse_client("WHO\0", 4, true, &c), CHAT_ERR_UNKNOWN_COMMAND);
	assert_int_equal(chat_parse_client("WHO\0", 3, true, &c), CHAT_OK);
}

static void
test_nick_command(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("NICK bob_2", true, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_NICK);
	assert_str(c.nick, "bob_2");
	assert_int_equal(cparse("NICK " N32, true, &c), CHAT_OK);
}

static void
test_nick_command_refused(void **state)
{
	(void)state;
	expect_cerr("NICK", true, CHAT_ERR_BAD_NICK);
	expect_cerr("NICK ", true, CHAT_ERR_BAD_NICK);
	expect_cerr("NICK a b", true, CHAT_ERR_BAD_NICK);
	expect_cerr("NICK bob ", true, CHAT_ERR_BAD_NICK);
	expect_cerr("NICK  bob", true, CHAT_ERR_BAD_NICK);
	expect_cerr("NICK " N33, true, CHAT_ERR_BAD_NICK);
	expect_cerr("NICK b\x1b", true, CHAT_ERR_BAD_NICK);
}

static void
test_join_command(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("JOIN rust.dev-2", true, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_JOIN);
	assert_str(c.room, "rust.dev-2");
}

static void
test_join_command_refused(void **state)
{
	(void)state;
	expect_cerr("JOIN", true, CHAT_ERR_BAD_ROOM);
	expect_cerr("JOIN ", true, CHAT_ERR_BAD_ROOM);
	expect_cerr("JOIN a b", true, CHAT_ERR_BAD_ROOM);
	expect_cerr("JOIN " N33, true, CHAT_ERR_BAD_ROOM);
	expect_cerr("JOIN #room", true, CHAT_ERR_BAD_ROOM);
}

static void
test_who_command(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("WHO", true, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_WHO);
	expect_cerr("WHO ", true, CHAT_ERR_BAD_SYNTAX);
	expect_cerr("WHO lobby", true, CHAT_ERR_BAD_SYNTAX);
}

static void
test_ping_command(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("PING", true, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_PING);
	assert_int_equal(c.text.n, 0);
	assert_int_equal(cparse("PING 1700000000123", true, &c), CHAT_OK);
	assert_str(c.text, "1700000000123");
	assert_int_equal(cparse("PING !x~", true, &c), CHAT_OK);
}

static void
test_ping_command_refused(void **state)
{
	(void)state;
	expect_cerr("PING ", true, CHAT_ERR_BAD_SYNTAX);
	expect_cerr("PING a b", true, CHAT_ERR_BAD_SYNTAX);
	expect_cerr("PING a\x1b", true, CHAT_ERR_BAD_SYNTAX);
	expect_cerr("PING \xc3\xa9", true, CHAT_ERR_BAD_SYNTAX);
}

static void
test_quit_command_never_refused(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("QUIT", true, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_QUIT);
	assert_int_equal(c.text.n, 0);
	assert_int_equal(cparse("QUIT ", true, &c), CHAT_OK);
	assert_int_equal(c.text.n, 0);
	assert_int_equal(cparse("QUIT gone  fishing\t", true, &c), CHAT_OK);
	assert_str(c.text, "gone  fishing\t");
}

/* ---- server lines ---- */

static void
test_srv_ok(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("OK alice lobby 3", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_OK);
	assert_str(e.nick, "alice");
	assert_str(e.room, "lobby");
	assert_int_equal(e.members, 3);
}

static void
test_srv_ok_members_bounds(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("OK a r 4294967295", &e), 0);
	assert_int_equal(e.members, 4294967295U);
	expect_malformed("OK a r 4294967296");
	expect_malformed("OK a r 0");
	expect_malformed("OK a r 03");
	expect_malformed("OK a r -1");
	expect_malformed("OK a r 3x");
}

static void
test_srv_ok_malformed(void **state)
{
	(void)state;
	expect_malformed("OK");
	expect_malformed("OK alice lobby");
	expect_malformed("OK alice lobby 3 extra");
	expect_malformed("OK alice lobby 3 ");
	expect_malformed("OK alice  lobby 3");
	expect_malformed("OK al!ce lobby 3");
	expect_malformed("OK alice " N33 " 3");
}

static void
test_srv_msg(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("MSG 1700000000123 bob hi  there ", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_MSG);
	assert_true(e.unix_ms == 1700000000123LL);
	assert_str(e.nick, "bob");
	assert_str(e.text, "hi  there ");
}

static void
test_srv_msg_malformed(void **state)
{
	(void)state;
	expect_malformed("MSG 1 bob");
	expect_malformed("MSG 1 bob ");
	expect_malformed("MSG 1");
	expect_malformed("MSG bob hi");
	expect_malformed("MSG 1  bob hi");
	expect_malformed("MSG 1 b@b hi");
}

static void
test_srv_me(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("ME 5 bob waves", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_ME);
	assert_true(e.unix_ms == 5);
	assert_str(e.text, "waves");
	expect_malformed("ME 5 bob");
}

static void
test_srv_unix_ms_bounds(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("JOIN 0 a", &e), 0);
	assert_true(e.unix_ms == 0);
	assert_int_equal(sparse("JOIN 9223372036854775807 a", &e), 0);
	assert_true(e.unix_ms == INT64_MAX);
	expect_malformed("JOIN 9223372036854775808 a");
	expect_malformed("JOIN 18446744073709551616 a");
	expect_malformed("JOIN 99999999999999999999999 a");
	expect_malformed("JOIN -1 a");
	expect_malformed("JOIN +1 a");
	expect_malformed("JOIN 01 a");
	expect_malformed("JOIN 1a a");
	expect_malformed("JOIN 1.5 a");
}

static void
test_srv_join(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("JOIN 42 carol", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_JOIN);
	assert_str(e.nick, "carol");
	expect_malformed("JOIN 42 carol ");
	expect_malformed("JOIN 42 carol x");
	expect_malformed("JOIN 42");
}

static void
test_srv_part(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("PART 42 carol idle", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_PART);
	assert_str(e.nick, "carol");
	assert_str(e.text, "idle");
	/* Reasons not in PROTOCOL.md yet are still words: accepted. */
	assert_int_equal(sparse("PART 42 carol kicked-by-op", &e), 0);
	expect_malformed("PART 42 carol");
	expect_malformed("PART 42 carol two words");
	expect_malformed("PART 42 carol \x1b[2J");
}

static void
test_srv_nick(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("NICK 7 bob robert", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_NICK);
	assert_str(e.nick, "bob");
	assert_str(e.nick2, "robert");
	expect_malformed("NICK 7 bob");
	expect_malformed("NICK 7 bob robert x");
}

static void
test_srv_who_iterate(void **state)
{
	struct chat_server_evt e;
	struct chat_str name;
	size_t pos = 0;

	(void)state;
	assert_int_equal(sparse("WHO alice bob carol", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_WHO);
	assert_int_equal(e.count, 3);
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, "alice");
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, "bob");
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, "carol");
	assert_false(chat_who_next(&e, &pos, &name));
	assert_false(chat_who_next(&e, &pos, &name));
}

static void
test_srv_who_empty_and_one(void **state)
{
	struct chat_server_evt e;
	struct chat_str name;
	size_t pos = 0;

	(void)state;
	assert_int_equal(sparse("WHO", &e), 0);
	assert_int_equal(e.count, 0);
	assert_false(chat_who_next(&e, &pos, &name));
	assert_int_equal(sparse("WHO " N32, &e), 0);
	assert_int_equal(e.count, 1);
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, N32);
}

static void
test_srv_who_malformed(void **state)
{
	(void)state;
	expect_malformed("WHO ");
	expect_malformed("WHO a ");
	expect_malformed("WHO a  b");
	expect_malformed("WHO  a");
	expect_malformed("WHO a b@d");
	expect_malformed("WHO a " N33);
}

static void
test_who_next_only_for_who(void **state)
{
	struct chat_server_evt e;
	struct chat_str name;
	size_t pos = 0;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.type = CHAT_EVT_MSG;
	e.names.p = "a b";
	e.names.n = 3;
	assert_false(chat_who_next(&e, &pos, &name));
	e.type = CHAT_EVT_WHO;
	assert_true(chat_who_next(&e, &pos, &name));
}

static void
test_srv_pong(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("PONG abc", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_PONG);
	assert_str(e.text, "abc");
	assert_int_equal(sparse("PONG", &e), 0);
	assert_int_equal(e.text.n, 0);
	expect_malformed("PONG ");
	expect_malformed("PONG a b");
	expect_malformed("PONG \x1b");
}

static void
test_srv_err(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("ERR nick-taken bob is in use", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_ERR);
	assert_str(e.code, "nick-taken");
	assert_int_equal(e.err, CHAT_ERR_NICK_TAKEN);
	assert_str(e.text, "bob is in use");
}

static void
test_srv_err_unknown_code_and_no_text(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("ERR slow-down", &e), 0);
	assert_int_equal(e.err, -1);
	assert_str(e.code, "slow-down");
	assert_int_equal(e.text.n, 0);
	expect_malformed("ERR");
	expect_malformed("ERR ");
	expect_malformed("ERR bad-nick ");
	expect_malformed("ERR bad!code text");
}

static void
test_srv_bye(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("BYE too-many-errors", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_BYE);
	assert_str(e.text, "too-many-errors");
	expect_malformed("BYE");
	expect_malformed("BYE ");
	expect_malformed("BYE quit now");
}

static void
test_srv_unknown_lines(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("HELLO there", &e), CHAT_SRV_UNKNOWN);
	assert_int_equal(sparse("ok a b 1", &e), CHAT_SRV_UNKNOWN);
	assert_int_equal(sparse("", &e), CHAT_SRV_UNKNOWN);
	assert_int_equal(sparse(" OK a b 1", &e), CHAT_SRV_UNKNOWN);
	assert_int_equal(sparse("\x1b[2J", &e), CHAT_SRV_UNKNOWN);
}

static void
test_srv_bad_utf8(void **state)
{
	(void)state;
	expect_malformed("MSG 1 bob \xc0\xaf");
	expect_malformed("MSG 1 bob \x9b"
			 "2J");
	expect_malformed("\xff");
}

static void
test_srv_hostile_text_kept_for_escaping(void **state)
{
	struct chat_server_evt e;
	static const char line[] = "MSG 1 bob a\0\x1b[2J\xe2\x80\xae";

	(void)state;
	/* The client decides how to show it: term_escape(). */
	assert_int_equal(chat_parse_server(line, sizeof(line) - 1, &e), 0);
	assert_int_equal(e.text.n, sizeof(line) - 1 - 10);
}

static void
test_srv_failure_zeroes_out(void **state)
{
	struct chat_server_evt e;

	(void)state;
	expect_malformed("OK alice lobby 0");
	assert_int_equal(sparse("OK alice lobby 0", &e), CHAT_SRV_MALFORMED);
	assert_null(e.nick.p);
	assert_int_equal(e.members, 0);
}

/* ---- server formatters ---- */

static void
test_fmt_ok(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(
	    chat_fmt_ok(buf, sizeof(buf), "alice", "lobby", 3), 17);
	assert_string_equal(buf, "OK alice lobby 3\n");
	assert_int_equal(
	    chat_fmt_ok(buf, sizeof(buf), "alice", "lobby", 0), -1);
	assert_int_equal(
	    chat_fmt_ok(buf, sizeof(buf), "al ce", "lobby", 1), -1);
	assert_int_equal(chat_fmt_ok(buf, sizeof(buf), "alice", N33, 1), -1);
	assert_int_equal(chat_fmt_ok(buf, sizeof(buf), NULL, "lobby", 1), -1);
}

static void
test_fmt_msg(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(chat_fmt_msg(buf, sizeof(buf), 1700000000123LL, "bob",
			     "hi there", 8),
	    31);
	assert_string_equal(buf, "MSG 1700000000123 bob hi there\n");
	assert_int_equal(
	    chat_fmt_me(buf, sizeof(buf), 0, "bob", "waves", 5), 15);
	assert_string_equal(buf, "ME 0 bob waves\n");
}

static void
test_fmt_msg_sanitizes(void **state)
{
	char buf[128];
	static const char text[] = "a\nb\rc\0d\x1b[2J\xc2\x9b\x7f\te\xc3";

	(void)state;
	assert_true(
	    chat_fmt_msg(buf, sizeof(buf), 1, "x", text, sizeof(text) - 1) > 0);
	assert_string_equal(buf, "MSG 1 x a" FFFD "b" FFFD "c" FFFD "d" FFFD
				 "[2J" FFFD FFFD "\te" FFFD "\n");
}

static void
test_fmt_msg_refuses_bad_args(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(chat_fmt_msg(buf, sizeof(buf), 1, "bob", "", 0), -1);
	assert_int_equal(chat_fmt_msg(buf, sizeof(buf), 1, "bob", NULL, 3), -1);
	assert_int_equal(chat_fmt_msg(buf, sizeof(buf), -1, "bob", "x", 1), -1);
	assert_int_equal(chat_fmt_msg(buf, sizeof(buf), 1, N33, "x", 1), -1);
	assert_int_equal(chat_fmt_msg(buf, sizeof(buf), 1, "", "x", 1), -1);
	assert_int_equal(chat_fmt_msg(buf, 0, 1, "bob", "x", 1), -1);
	assert_int_equal(chat_fmt_msg(NULL, 10, 1, "bob", "x", 1), -1);
}

static void
test_fmt_msg_int64_max(void **state)
{
	char buf[128];

	(void)state;
	assert_true(chat_fmt_msg(buf, sizeof(buf), INT64_MAX, N32, "x", 1) > 0);
	assert_string_equal(buf, "MSG 9223372036854775807 " N32 " x\n");
}

/* Every cap below length + 1 fails, length + 1 and up succeed. */
static void
test_fmt_cap_boundary(void **state)
{
	char buf[64];
	static const char text[] = "\x1b\xe4\xb8\xad";
	size_t cap;
	int want, n;

	(void)state;
	want = chat_fmt_msg(buf, sizeof(buf), 12, "bob", text, 4);
	assert_int_equal(
	    want, (int)strlen("MSG 12 bob " FFFD "\xe4\xb8\xad\n"));
	for (cap = 0; cap <= (size_t)want + 1; cap++) {
		memset(buf, 'X', sizeof(buf));
		n = chat_fmt_msg(buf, cap, 12, "bob", text, 4);
		assert_int_equal(n, cap > (size_t)want ? want : -1);
		/* Never a byte written past cap. */
		assert_int_equal(buf[cap], 'X');
	}
}

static void
test_fmt_join_part_nick(void **state)
{
	char buf[128];

	(void)state;
	assert_true(chat_fmt_join(buf, sizeof(buf), 42, "carol") > 0);
	assert_string_equal(buf, "JOIN 42 carol\n");
	assert_true(chat_fmt_part(buf, sizeof(buf), 43, "carol", "slow") > 0);
	assert_string_equal(buf, "PART 43 carol slow\n");
	assert_true(chat_fmt_nick(buf, sizeof(buf), 44, "bob", "rob") > 0);
	assert_string_equal(buf, "NICK 44 bob rob\n");
	assert_int_equal(chat_fmt_part(buf, sizeof(buf), 1, "c", "a b"), -1);
	assert_int_equal(chat_fmt_part(buf, sizeof(buf), 1, "c", ""), -1);
	assert_int_equal(chat_fmt_nick(buf, sizeof(buf), 1, "bob", "r\n"), -1);
	assert_int_equal(chat_fmt_join(buf, sizeof(buf), -5, "carol"), -1);
}

static void
test_fmt_bye_pong(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(chat_fmt_bye(buf, sizeof(buf), "shutdown"), 13);
	assert_string_equal(buf, "BYE shutdown\n");
	assert_int_equal(chat_fmt_bye(buf, sizeof(buf), "bye\nMSG"), -1);
	assert_int_equal(chat_fmt_pong(buf, sizeof(buf), "t1", 2), 8);
	assert_string_equal(buf, "PONG t1\n");
	assert_int_equal(chat_fmt_pong(buf, sizeof(buf), NULL, 0), 5);
	assert_string_equal(buf, "PONG\n");
	assert_int_equal(chat_fmt_pong(buf, sizeof(buf), "a b", 3), -1);
	assert_int_equal(chat_fmt_pong(buf, sizeof(buf), "a\n", 2), -1);
}

static void
test_fmt_err(void **state)
{
	char buf[512];

	(void)state;
	assert_true(chat_fmt_err(buf, sizeof(buf), CHAT_ERR_NICK_TAKEN,
			"%s is in use", "bob") > 0);
	assert_string_equal(buf, "ERR nick-taken bob is in use\n");
	assert_true(
	    chat_fmt_err(buf, sizeof(buf), CHAT_ERR_BAD_UTF8, "%s", "") > 0);
	assert_string_equal(buf, "ERR bad-utf8\n");
	assert_true(chat_fmt_err(buf, sizeof(buf), CHAT_ERR_LINE_TOO_LONG,
			"max %d bytes", 1024) > 0);
	assert_string_equal(buf, "ERR line-too-long max 1024 bytes\n");
	assert_int_equal(chat_fmt_err(buf, sizeof(buf), CHAT_OK, "x"), -1);
	assert_int_equal(
	    chat_fmt_err(buf, sizeof(buf), CHAT_ERR_COUNT_, "x"), -1);
}

static void
test_fmt_err_sanitizes_user_input(void **state)
{
	char buf[512];

	(void)state;
	/* A refused nick echoed back must not smuggle a line or an escape. */
	assert_true(chat_fmt_err(buf, sizeof(buf), CHAT_ERR_BAD_NICK,
			"%s: not a nick", "x\nBYE shutdown\x1b[2J") > 0);
	assert_string_equal(
	    buf, "ERR bad-nick x" FFFD "BYE shutdown" FFFD "[2J: not a nick\n");
}

static void
test_fmt_err_text_cut_on_char_boundary(void **state)
{
	char text[CHAT_ERR_TEXT_MAX + 8], buf[1024], want[1024];

	(void)state;
	/* 199 bytes, then a 3-byte character crossing byte 200. */
	memset(text, 'a', CHAT_ERR_TEXT_MAX - 1);
	memcpy(text + CHAT_ERR_TEXT_MAX - 1, "\xe4\xb8\xadzz", 6);
	assert_true(
	    chat_fmt_err(buf, sizeof(buf), CHAT_ERR_BAD_ROOM, "%s", text) > 0);
	snprintf(want, sizeof(want), "ERR bad-room %.*s\n",
	    CHAT_ERR_TEXT_MAX - 1, text);
	assert_string_equal(buf, want);
}

/* ---- WHO builder ---- */

static void
test_who_builder_sorts(void **state)
{
	char buf[128];
	struct chat_who w;
	static const char *in[] = {
	    "carol", "alice", "dave", "Bob", "bob", "al", "zed", "alicia"};
	size_t i;

	(void)state;
	chat_who_begin(&w, buf, sizeof(buf));
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(chat_who_add(&w, in[i]), 0);
	/* Byte order: upper case first, a prefix before its extensions. */
	assert_int_equal(chat_who_end(&w),
	    strlen("WHO Bob al alice alicia bob carol dave zed\n"));
	assert_string_equal(
	    buf, "WHO Bob al alice alicia bob carol dave zed\n");
	assert_int_equal(w.count, 8);
}

static void
test_who_builder_sorted_input(void **state)
{
	char buf[64];
	struct chat_who w;

	(void)state;
	chat_who_begin(&w, buf, sizeof(buf));
	assert_int_equal(chat_who_add(&w, "a"), 0);
	assert_int_equal(chat_who_add(&w, "b"), 0);
	assert_int_equal(chat_who_add(&w, "c"), 0);
	assert_int_equal(chat_who_end(&w), 10);
	assert_string_equal(buf, "WHO a b c\n");
}

static void
test_who_builder_empty(void **state)
{
	char buf[5];
	struct chat_who w;

	(void)state;
	chat_who_begin(&w, buf, sizeof(buf));
	assert_int_equal(chat_who_end(&w), 4);
	assert_string_equal(buf, "WHO\n");
	chat_who_begin(&w, buf, 4);
	assert_int_equal(chat_who_add(&w, "a"), -1);
	assert_int_equal(chat_who_end(&w), -1);
}

static void
test_who_builder_full_keeps_partial(void **state)
{
	char buf[15]; /* "WHO bob c dan\n" + NUL */
	struct chat_who w;

	(void)state;
	chat_who_begin(&w, buf, sizeof(buf));
	assert_int_equal(chat_who_add(&w, "dan"), 0);
	assert_int_equal(chat_who_add(&w, "bob"), 0);
	assert_int_equal(chat_who_add(&w, "al"), -1);
	assert_int_equal(chat_who_add(&w, "c"), 0);
	assert_int_equal(chat_who_add(&w, "a"), -1);
	assert_int_equal(chat_who_end(&w), 14);
	assert_string_equal(buf, "WHO bob c dan\n");
	assert_int_equal(w.count, 3);
}

static void
test_who_builder_refuses_bad_names(void **state)
{
	char buf[64];
	struct chat_who w;

	(void)state;
	chat_who_begin(&w, buf, sizeof(buf));
	assert_int_equal(chat_who_add(&w, "a b"), -1);
	assert_int_equal(chat_who_add(&w, ""), -1);
	assert_int_equal(chat_who_add(&w, N33), -1);
	assert_int_equal(chat_who_add(&w, NULL), -1);
	assert_int_equal(chat_who_end(&w), 4);
}

static void
test_who_builder_line_max(void **state)
{
	char buf[CHAT_WHO_LINE_MAX(3)];
	char name[CHAT_NAME_MAX + 1];
	struct chat_who w;
	int i;

	(void)state;
	chat_who_begin(&w, buf, sizeof(buf));
	for (i = 0; i < 3; i++) {
		memset(name, 'a' + i, CHAT_NAME_MAX);
		name[CHAT_NAME_MAX] = '\0';
		assert_int_equal(chat_who_add(&w, name), 0);
	}
	assert_int_equal(chat_who_end(&w), (int)CHAT_WHO_LINE_MAX(3) - 1);
}

/* ---- client formatters ---- */

static void
test_fmt_greeting(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(chat_fmt_greeting(buf, sizeof(buf), "bob", NULL), 11);
	assert_string_equal(buf, "CHAT/1 bob\n");
	assert_int_equal(chat_fmt_greeting(buf, sizeof(buf), "bob", ""), 11);
	assert_int_equal(chat_fmt_greeting(buf, sizeof(buf), "bob", "dev"), 15);
	assert_string_equal(buf, "CHAT/1 bob dev\n");
	assert_int_equal(chat_fmt_greeting(buf, sizeof(buf), "b b", NULL), -1);
	assert_int_equal(chat_fmt_greeting(buf, sizeof(buf), "b", "d v"), -1);
	assert_int_equal(chat_fmt_greeting(buf, 11, "bob", NULL), -1);
}

static void
test_fmt_client_commands(void **state)
{
	char buf[64];

	(void)state;
	assert_true(chat_fmt_cmd_msg(buf, sizeof(buf), "hi\tyou", 6) > 0);
	assert_string_equal(buf, "MSG hi\tyou\n");
	assert_true(chat_fmt_cmd_me(buf, sizeof(buf), "waves", 5) > 0);
	assert_string_equal(buf, "ME waves\n");
	assert_true(chat_fmt_cmd_nick(buf, sizeof(buf), "rob") > 0);
	assert_string_equal(buf, "NICK rob\n");
	assert_true(chat_fmt_cmd_join(buf, sizeof(buf), "dev") > 0);
	assert_string_equal(buf, "JOIN dev\n");
	assert_int_equal(chat_fmt_cmd_who(buf, sizeof(buf)), 4);
	assert_string_equal(buf, "WHO\n");
	assert_true(chat_fmt_cmd_ping(buf, sizeof(buf), NULL) > 0);
	assert_string_equal(buf, "PING\n");
	assert_true(chat_fmt_cmd_ping(buf, sizeof(buf), "42") > 0);
	assert_string_equal(buf, "PING 42\n");
	assert_true(chat_fmt_cmd_quit(buf, sizeof(buf), NULL) > 0);
	assert_string_equal(buf, "QUIT\n");
	assert_true(chat_fmt_cmd_quit(buf, sizeof(buf), "") > 0);
	assert_string_equal(buf, "QUIT\n");
	assert_true(chat_fmt_cmd_ping(buf, sizeof(buf), "") > 0);
	assert_string_equal(buf, "PING\n");
	assert_true(chat_fmt_cmd_quit(buf, sizeof(buf), "bye all") > 0);
	assert_string_equal(buf, "QUIT bye all\n");
}

static void
test_fmt_client_refuses_line_breakers(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(chat_fmt_cmd_msg(buf, sizeof(buf), "a\nWHO", 5), -1);
	assert_int_equal(chat_fmt_cmd_msg(buf, sizeof(buf), "a\r", 2), -1);
	assert_int_equal(chat_fmt_cmd_msg(buf, sizeof(buf), "", 0), -1);
	assert_int_equal(chat_fmt_cmd_msg(buf, sizeof(buf), "\xc3", 1), -1);
	assert_int_equal(chat_fmt_cmd_me(buf, sizeof(buf), "x\n", 2), -1);
	assert_int_equal(chat_fmt_cmd_quit(buf, sizeof(buf), "x\ny"), -1);
	assert_int_equal(chat_fmt_cmd_nick(buf, sizeof(buf), N33), -1);
	assert_int_equal(chat_fmt_cmd_join(buf, sizeof(buf), ""), -1);
	assert_int_equal(chat_fmt_cmd_ping(buf, sizeof(buf), "a b"), -1);
	assert_int_equal(chat_fmt_cmd_who(buf, 4), -1);
}

/* ---- round trips ---- */

static void
test_roundtrip_server_formatters(void **state)
{
	char buf[256];
	struct chat_server_evt e;
	struct chat_str name;
	struct chat_who w;
	size_t pos = 0;
	int n;

	(void)state;
	n = chat_fmt_ok(buf, sizeof(buf), "alice", "lobby", 7);
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_OK);
	assert_str(e.nick, "alice");
	assert_str(e.room, "lobby");
	assert_int_equal(e.members, 7);

	n = chat_fmt_msg(
	    buf, sizeof(buf), 1700000000123LL, "bob", " spaced  out\t", 13);
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_MSG);
	assert_true(e.unix_ms == 1700000000123LL);
	assert_str(e.nick, "bob");
	assert_str(e.text, " spaced  out\t");

	n = chat_fmt_me(buf, sizeof(buf), 3, "bob", "\xe4\xb8\xad", 3);
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_ME);
	assert_str(e.text, "\xe4\xb8\xad");

	n = chat_fmt_join(buf, sizeof(buf), 4, "carol");
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_JOIN);
	assert_true(e.unix_ms == 4);
	assert_str(e.nick, "carol");

	n = chat_fmt_part(buf, sizeof(buf), 5, "carol", "moved");
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_PART);
	assert_str(e.text, "moved");

	n = chat_fmt_nick(buf, sizeof(buf), 6, "bob", "rob");
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_NICK);
	assert_str(e.nick, "bob");
	assert_str(e.nick2, "rob");

	n = chat_fmt_pong(buf, sizeof(buf), "tok", 3);
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_PONG);
	assert_str(e.text, "tok");

	n = chat_fmt_bye(buf, sizeof(buf), "too-many-errors");
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_BYE);
	assert_str(e.text, "too-many-errors");

	chat_who_begin(&w, buf, sizeof(buf));
	assert_int_equal(chat_who_add(&w, "zed"), 0);
	assert_int_equal(chat_who_add(&w, "amy"), 0);
	n = chat_who_end(&w);
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_WHO);
	assert_int_equal(e.count, 2);
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, "amy");
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, "zed");
}

static void
test_roundtrip_every_err_code(void **state)
{
	char buf[512];
	struct chat_server_evt e;
	int c, n;

	(void)state;
	for (c = CHAT_ERR_BAD_GREETING; c < CHAT_ERR_COUNT_; c++) {
		n = chat_fmt_err(buf, sizeof(buf), (enum chat_err)c, "%s",
		    chat_err_text((enum chat_err)c));
		parse_formatted(buf, n, &e);
		assert_int_equal(e.type, CHAT_EVT_ERR);
		assert_int_equal(e.err, c);
		assert_str(e.code, chat_err_code((enum chat_err)c));
		assert_str(e.text, chat_err_text((enum chat_err)c));
	}
}

/*
 * Random nick, time and bytes: what the server formats, the client parses
 * back with the same fields, the text being the sanitized text, which
 * holds no control character but TAB.
 */
static void
test_roundtrip_random_msg(void **state)
{
	static const char namechars[] = "ABCXYZabcxyz0189_.-";
	struct rng r = {0xdeadbeefcafef00dULL};
	char nick[CHAT_NAME_MAX + 1], text[300];
	char buf[CHAT_SERVER_LINE_MAX(300)], want[UTF8_SANITIZE_MAX(300) + 1];
	struct chat_server_evt e;
	size_t nlen, tlen, wlen, i, len;
	int64_t ms;
	uint32_t cp;
	int round, n;

	(void)state;
	for (round = 0; round < 5000; round++) {
		nlen = 1 + rng_next(&r) % CHAT_NAME_MAX;
		for (i = 0; i < nlen; i++)
			nick[i] =
			    namechars[rng_next(&r) % (sizeof(namechars) - 1)];
		nick[nlen] = '\0';
		tlen = 1 + rng_next(&r) % sizeof(text);
		for (i = 0; i < tlen; i++)
			text[i] = (char)rng_next(&r);
		ms = (int64_t)(((uint64_t)rng_next(&r) << 31) ^ rng_next(&r));
		n = (round & 1)
			? chat_fmt_me(buf, sizeof(buf), ms, nick, text, tlen)
			: chat_fmt_msg(buf, sizeof(buf), ms, nick, text, tlen);
		parse_formatted(buf, n, &e);
		assert_int_equal(
		    e.type, (round & 1) ? CHAT_EVT_ME : CHAT_EVT_MSG);
		assert_true(e.unix_ms == ms);
		assert_str(e.nick, nick);
		wlen = utf8_sanitize(
		    (const unsigned char *)text, tlen, want, sizeof(want));
		assert_int_equal(e.text.n, wlen);
		assert_memory_equal(e.text.p, want, wlen);
		for (i = 0; i < e.text.n; i += len) {
			len = utf8_decode((const unsigned char *)e.text.p + i,
			    e.text.n - i, &cp);
			assert_true(len > 0);
			assert_false(cp < 0x20 && cp != '\t');
			assert_false(cp >= 0x7f && cp <= 0x9f);
		}
	}
}

/* The longest MSG/ME a max_line client line can produce fits the bound. */
static void
test_server_line_max_bound(void **state)
{
	char text[CHAT_MAX_LINE_DEFAULT];
	static char buf[CHAT_SERVER_LINE_MAX(CHAT_MAX_LINE_DEFAULT)];
	char nick[CHAT_NAME_MAX + 1];

	(void)state;
	memset(text, 0x1b, sizeof(text));
	memset(nick, 'n', CHAT_NAME_MAX);
	nick[CHAT_NAME_MAX] = '\0';
	/* "ME " + text: text is at most max_line - 3 bytes. */
	assert_true(chat_fmt_me(buf, sizeof(buf), INT64_MAX, nick, text,
			CHAT_MAX_LINE_DEFAULT - 3) > 0);
}

/*
 * The longest ERR fits CHAT_ERR_LINE_MAX, which CHAT_SERVER_LINE_MAX holds
 * even for a tiny max_line.
 */
static void
test_server_line_max_err(void **state)
{
	char text[CHAT_ERR_TEXT_MAX + 1];
	char buf[CHAT_ERR_LINE_MAX];

	(void)state;
	memset(text, 0x1b, CHAT_ERR_TEXT_MAX);
	text[CHAT_ERR_TEXT_MAX] = '\0';
	assert_int_equal(chat_fmt_err(buf, sizeof(buf),
			     CHAT_ERR_UNKNOWN_COMMAND, "%s", text),
	    (int)sizeof(buf) - 1 - (CHAT_NAME_MAX - 15));
	assert_true(CHAT_SERVER_LINE_MAX(1) >= CHAT_ERR_LINE_MAX);
}

static void
test_roundtrip_client_formatters(void **state)
{
	char buf[128];
	struct chat_client_cmd c;
	int n;

	(void)state;
	n = chat_fmt_greeting(buf, sizeof(buf), "bob", "dev");
	parse_formatted_client(buf, n, &c, false);
	assert_int_equal(c.cmd, CHAT_CMD_GREETING);
	assert_str(c.nick, "bob");
	assert_str(c.room, "dev");

	n = chat_fmt_cmd_msg(buf, sizeof(buf), " x\t\x1b", 4);
	parse_formatted_client(buf, n, &c, true);
	assert_int_equal(c.cmd, CHAT_CMD_MSG);
	assert_str(c.text, " x\t\x1b");

	n = chat_fmt_cmd_me(buf, sizeof(buf), "waves", 5);
	parse_formatted_client(buf, n, &c, true);
	assert_int_equal(c.cmd, CHAT_CMD_ME);

	n = chat_fmt_cmd_nick(buf, sizeof(buf), "rob");
	parse_formatted_client(buf, n, &c, true);
	assert_int_equal(c.cmd, CHAT_CMD_NICK);
	assert_str(c.nick, "rob");

	n = chat_fmt_cmd_join(buf, sizeof(buf), "ops");
	parse_formatted_client(buf, n, &c, true);
	assert_int_equal(c.cmd, CHAT_CMD_JOIN);
	assert_str(c.room, "ops");

	n = chat_fmt_cmd_who(buf, sizeof(buf));
	parse_formatted_client(buf, n, &c, true);
	assert_int_equal(c.cmd, CHAT_CMD_WHO);

	n = chat_fmt_cmd_ping(buf, sizeof(buf), "t-9");
	parse_formatted_client(buf, n, &c, true);
	assert_int_equal(c.cmd, CHAT_CMD_PING);
	assert_str(c.text, "t-9");

	n = chat_fmt_cmd_quit(buf, sizeof(buf), "later");
	parse_formatted_client(buf, n, &c, true);
	assert_int_equal(c.cmd, CHAT_CMD_QUIT);
	assert_str(c.text, "later");
}

/* PING token -> PONG: the server echoes it in a line the client accepts. */
static void
test_roundtrip_ping_pong(void **state)
{
	char buf[64];
	struct chat_client_cmd c;
	struct chat_server_evt e;
	int n;

	(void)state;
	assert_int_equal(cparse("PING abc-123", true, &c), CHAT_OK);
	n = chat_fmt_pong(buf, sizeof(buf), c.text.p, c.text.n);
	parse_formatted(buf, n, &e);
	assert_str(e.text, "abc-123");
	assert_int_equal(cparse("PING", true, &c), CHAT_OK);
	n = chat_fmt_pong(buf, sizeof(buf), c.text.p, c.text.n);
	parse_formatted(buf, n, &e);
	assert_int_equal(e.text.n, 0);
}

/* ---- extensions: greeting options, probe ---- */

static void
test_greeting_old_forms_unchanged(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("CHAT/1 bob", false, &c), CHAT_OK);
	assert_false(c.ids);
	assert_false(c.probe);
	assert_int_equal(c.last, -1);
	assert_true(c.since == 0);
	assert_int_equal(c.room.n, 0);
	assert_int_equal(cparse("CHAT/1 bob dev", false, &c), CHAT_OK);
	assert_false(c.ids);
	assert_int_equal(c.last, -1);
	assert_str(c.room, "dev");
}

static void
test_greeting_options(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("CHAT/1 bob dev ids", false, &c), CHAT_OK);
	assert_true(c.ids);
	assert_int_equal(c.last, -1);
	assert_true(c.since == 0);
	assert_str(c.nick, "bob");
	assert_str(c.room, "dev");
	assert_int_equal(cparse("CHAT/1 bob dev last=0", false, &c), CHAT_OK);
	assert_true(c.ids);
	assert_int_equal(c.last, 0);
	assert_int_equal(
	    cparse("CHAT/1 bob dev last=1000000", false, &c), CHAT_OK);
	assert_int_equal(c.last, 1000000);
	assert_int_equal(cparse("CHAT/1 bob dev since=1", false, &c), CHAT_OK);
	assert_true(c.ids);
	assert_true(c.since == 1);
	assert_int_equal(cparse("CHAT/1 bob dev since=9223372036854775807",
			     false, &c),
	    CHAT_OK);
	assert_true(c.since == INT64_MAX);
	assert_int_equal(cparse("CHAT/1 bob dev ids since=17 last=5 zz", false,
			     &c),
	    CHAT_OK);
	assert_true(c.ids);
	assert_true(c.since == 17);
	assert_int_equal(c.last, 5);
	/* "*": the default room (room.n == 0), with options or without. */
	assert_int_equal(cparse("CHAT/1 bob * ids last=3", false, &c), CHAT_OK);
	assert_true(c.ids);
	assert_int_equal(c.last, 3);
	assert_int_equal(c.room.n, 0);
	assert_int_equal(cparse("CHAT/1 bob *", false, &c), CHAT_OK);
	assert_int_equal(c.room.n, 0);
	assert_false(c.ids);
	assert_int_equal(cparse("CHAT/1 bob ** ids", false, &c), CHAT_ERR_BAD_ROOM);
	assert_int_equal(cparse("CHAT/1 bob *x", false, &c), CHAT_ERR_BAD_ROOM);
}

static void
test_greeting_options_unknown_ignored(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("CHAT/1 bob dev colour=8 x.y_z-1 ids=no last",
			     false, &c),
	    CHAT_OK);
	assert_false(c.ids);
	assert_int_equal(c.last, -1);
	/* 32 bytes is an option word, 33 is not. */
	assert_int_equal(cparse("CHAT/1 bob dev " N32, false, &c), CHAT_OK);
	expect_cerr("CHAT/1 bob dev " N33, false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev IDS", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev a/b", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev \xc3\xa9", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev a\tb", false, CHAT_ERR_BAD_GREETING);
}

static void
test_greeting_options_malformed(void **state)
{
	(void)state;
	expect_cerr("CHAT/1 bob dev last=", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev last=01", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev last=-1", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev last=1000001", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev last=1x", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev since=", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev since=0", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev since=007", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev since=9223372036854775808", false,
	    CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev since=18446744073709551616", false,
	    CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev since=12345678901234567890123", false,
	    CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev since=+5", false, CHAT_ERR_BAD_GREETING);
	/* Empty options: doubled, trailing. */
	expect_cerr("CHAT/1 bob dev ids ", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev  ids", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev ids  last=1", false, CHAT_ERR_BAD_GREETING);
	/* The room is required before options. */
	expect_cerr("CHAT/1 bob  ids", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 b@b dev ids", false, CHAT_ERR_BAD_NICK);
	expect_cerr("CHAT/1 bob d/v ids", false, CHAT_ERR_BAD_ROOM);
}

static void
test_greeting_options_repeated(void **state)
{
	(void)state;
	expect_cerr("CHAT/1 bob dev ids ids", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev last=1 last=1", false, CHAT_ERR_BAD_GREETING);
	expect_cerr("CHAT/1 bob dev since=5 ids since=6", false,
	    CHAT_ERR_BAD_GREETING);
}

static void
test_greeting_probe(void **state)
{
	struct chat_client_cmd c;

	(void)state;
	assert_int_equal(cparse("CHAT/1 *", false, &c), CHAT_OK);
	assert_int_equal(c.cmd, CHAT_CMD_GREETING);
	assert_true(c.probe);
	assert_int_equal(c.nick.n, 0);
	assert_int_equal(c.room.n, 0);
	assert_int_equal(cparse("CHAT/1 * dev", false, &c), CHAT_OK);
	assert_true(c.probe);
	assert_str(c.room, "dev");
	assert_int_equal(cparse("CHAT/1 * dev future", false, &c), CHAT_OK);
	assert_true(c.probe);
	expect_cerr("CHAT/1 **", false, CHAT_ERR_BAD_NICK);
	expect_cerr("CHAT/1 * d/v", false, CHAT_ERR_BAD_ROOM);
	expect_cerr("CHAT/1 * ", false, CHAT_ERR_BAD_ROOM);
	expect_cerr("CHAT/1 * dev last=x", false, CHAT_ERR_BAD_GREETING);
	/* After the greeting, "*" is no nick to change to. */
	expect_cerr("NICK *", true, CHAT_ERR_BAD_NICK);
}

static void
test_err_no_such_room(void **state)
{
	char buf[128];
	struct chat_server_evt e;
	int n;

	(void)state;
	assert_string_equal(
	    chat_err_code(CHAT_ERR_NO_SUCH_ROOM), "no-such-room");
	n = chat_fmt_err(buf, sizeof(buf), CHAT_ERR_NO_SUCH_ROOM,
	    "%s has nobody in it", "dev");
	assert_string_equal(buf, "ERR no-such-room dev has nobody in it\n");
	parse_formatted(buf, n, &e);
	assert_int_equal(e.err, CHAT_ERR_NO_SUCH_ROOM);
}

/* ---- extensions: server lines ---- */

static void
test_server_id_prefix(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("@17 MSG 5 bob hi there", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_MSG);
	assert_true(e.id == 17);
	assert_false(e.history);
	assert_true(e.unix_ms == 5);
	assert_str(e.text, "hi there");
	assert_int_equal(sparse("@9223372036854775807 JOIN 5 bob", &e), 0);
	assert_true(e.id == INT64_MAX);
	assert_int_equal(e.type, CHAT_EVT_JOIN);
	assert_int_equal(sparse("@1 NICK 5 bob rob", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_NICK);
	assert_int_equal(sparse("@1 ME 5 bob waves", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_ME);
	assert_int_equal(sparse("@2 PART 5 bob quit", &e), 0);
	assert_int_equal(e.detail.n, 0);
	/* No prefix: id 0. */
	assert_int_equal(sparse("MSG 5 bob hi", &e), 0);
	assert_true(e.id == 0);
}

static void
test_server_id_prefix_malformed(void **state)
{
	struct chat_server_evt e;

	(void)state;
	expect_malformed("@ MSG 5 bob hi");
	expect_malformed("@0 MSG 5 bob hi");
	expect_malformed("@017 MSG 5 bob hi");
	expect_malformed("@-1 MSG 5 bob hi");
	expect_malformed("@1x MSG 5 bob hi");
	expect_malformed("@9223372036854775808 MSG 5 bob hi");
	expect_malformed("@18446744073709551616 MSG 5 bob hi");
	expect_malformed("@1");
	expect_malformed("@1 ");
	expect_malformed("@1  MSG 5 bob hi");
	expect_malformed("@1 MSG 5 bob");
	/* Answers never carry ids. */
	expect_malformed("@1 OK bob dev 1");
	expect_malformed("@1 WHO bob");
	expect_malformed("@1 PONG");
	expect_malformed("@1 ERR bad-nick");
	expect_malformed("@1 BYE quit");
	expect_malformed("@1 INFO max_line=5");
	expect_malformed("@1 HIST END 0 complete");
	/* A newer server's event with an id: unknown, not malformed. */
	assert_int_equal(sparse("@1 TOPIC 5 bob x", &e), CHAT_SRV_UNKNOWN);
	assert_true(e.id == 0);
}

static void
test_server_hist(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("@3 HIST MSG 7 bob old news", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_MSG);
	assert_true(e.history);
	assert_true(e.id == 3);
	assert_true(e.unix_ms == 7);
	assert_str(e.nick, "bob");
	assert_str(e.text, "old news");
	assert_int_equal(sparse("@4 HIST ME 7 bob waves", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_ME);
	assert_true(e.history);
	/* Only MSG and ME are stored, so only they come as HIST. */
	expect_malformed("@4 HIST JOIN 7 bob");
	expect_malformed("@4 HIST PART 7 bob quit");
	expect_malformed("@4 HIST NICK 7 bob rob");
	expect_malformed("@4 HIST OK bob dev 1");
	expect_malformed("@4 HIST TOPIC x");
	expect_malformed("@4 HIST");
	expect_malformed("@4 HIST ");
	expect_malformed("HIST MSG 7 bob hi");
}

static void
test_server_hist_end(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("HIST END 0 complete", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_HIST_END);
	assert_int_equal(e.count, 0);
	assert_false(e.gap);
	assert_true(e.id == 0);
	assert_int_equal(sparse("HIST END 4294967295 gap", &e), 0);
	assert_int_equal(e.count, 4294967295u);
	assert_true(e.gap);
	expect_malformed("HIST END 4294967296 gap");
	expect_malformed("HIST END 01 gap");
	expect_malformed("HIST END 1");
	expect_malformed("HIST END 1 ");
	expect_malformed("HIST END 1 partial");
	expect_malformed("HIST END 1 gap x");
	expect_malformed("HIST END -1 gap");
	expect_malformed("HIST END");
	expect_malformed("HIST");
	expect_malformed("HIST BEGIN 1 gap");
}

static void
test_server_info(void **state)
{
	struct chat_server_evt e;
	int64_t v = -1;

	(void)state;
	assert_int_equal(sparse("INFO max_line=1024 history=100 rate_lines=0 "
				"x=y new_key=9223372036854775807",
			     &e),
	    0);
	assert_int_equal(e.type, CHAT_EVT_INFO);
	assert_true(chat_info_get(&e, "max_line", &v));
	assert_true(v == 1024);
	assert_true(chat_info_get(&e, "history", &v));
	assert_true(v == 100);
	assert_true(chat_info_get(&e, "rate_lines", &v));
	assert_true(v == 0);
	assert_true(chat_info_get(&e, "new_key", &v));
	assert_true(v == INT64_MAX);
	/* Absent, not a number, or a prefix of a key: false. */
	assert_false(chat_info_get(&e, "rate_bytes", &v));
	assert_false(chat_info_get(&e, "x", &v));
	assert_false(chat_info_get(&e, "max", &v));
	assert_false(chat_info_get(&e, "line", &v));
	assert_int_equal(sparse("INFO", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_INFO);
	assert_false(chat_info_get(&e, "max_line", &v));
	assert_int_equal(sparse("INFO a=01 b=9223372036854775808", &e), 0);
	assert_false(chat_info_get(&e, "a", &v));
	assert_false(chat_info_get(&e, "b", &v));
	/* Not INFO: false. */
	assert_int_equal(sparse("MSG 1 bob max_line=5", &e), 0);
	assert_false(chat_info_get(&e, "max_line", &v));
	expect_malformed("INFO ");
	expect_malformed("INFO a=1  b=2");
	expect_malformed("INFO a=1 ");
}

static void
test_server_part_detail(void **state)
{
	struct chat_server_evt e;

	(void)state;
	assert_int_equal(sparse("@5 PART 9 bob quit gone fishing, back", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_PART);
	assert_str(e.text, "quit");
	assert_str(e.detail, "gone fishing, back");
	assert_int_equal(sparse("@5 PART 9 bob quit  ", &e), 0);
	assert_str(e.detail, " ");
	assert_int_equal(sparse("@5 PART 9 bob moved dev", &e), 0);
	assert_str(e.text, "moved");
	assert_str(e.detail, "dev");
	/* Only quit and moved have a detail. */
	expect_malformed("@5 PART 9 bob kicked by op");
	/* The old forms: no detail. */
	assert_int_equal(sparse("PART 9 bob quit", &e), 0);
	assert_int_equal(e.detail.n, 0);
	assert_int_equal(sparse("PART 9 bob moved", &e), 0);
	assert_int_equal(e.detail.n, 0);
	expect_malformed("@5 PART 9 bob moved d/v");
	expect_malformed("@5 PART 9 bob moved dev x");
	expect_malformed("@5 PART 9 bob moved ");
	expect_malformed("@5 PART 9 bob quit ");
}

/* ---- extensions: formatters ---- */

static void
test_fmt_with_id(void **state)
{
	char line[64], buf[128];
	struct chat_server_evt e;
	int n, m;

	(void)state;
	n = chat_fmt_msg(line, sizeof(line), 1700, "bob", "hi", 2);
	m = chat_fmt_with_id(buf, sizeof(buf), 42, false, line, (size_t)n);
	assert_string_equal(buf, "@42 MSG 1700 bob hi\n");
	parse_formatted(buf, m, &e);
	assert_true(e.id == 42);
	assert_false(e.history);
	m = chat_fmt_with_id(
	    buf, sizeof(buf), INT64_MAX, true, line, (size_t)n);
	assert_string_equal(buf, "@9223372036854775807 HIST MSG 1700 bob hi\n");
	assert_int_equal(m, CHAT_ID_PREFIX_MAX + n);
	parse_formatted(buf, m, &e);
	assert_true(e.history);
	assert_true(e.id == INT64_MAX);
	/* The line must be whole; the id positive; the result must fit. */
	assert_int_equal(
	    chat_fmt_with_id(buf, sizeof(buf), 1, false, line, (size_t)n - 1),
	    -1);
	assert_int_equal(
	    chat_fmt_with_id(buf, sizeof(buf), 0, false, line, (size_t)n), -1);
	assert_int_equal(
	    chat_fmt_with_id(buf, sizeof(buf), -5, false, line, (size_t)n),
	    -1);
	assert_int_equal(chat_fmt_with_id(buf, sizeof(buf), 1, false, NULL, 0),
	    -1);
	assert_int_equal(
	    chat_fmt_with_id(buf, (size_t)n + 3, 1, false, line, (size_t)n),
	    -1);
	assert_int_equal(
	    chat_fmt_with_id(buf, (size_t)n + 4, 1, false, line, (size_t)n),
	    n + 3);
}

static void
test_fmt_part_detail(void **state)
{
	char buf[CHAT_SERVER_LINE_MAX(1)], text[CHAT_PART_DETAIL_MAX + 10];
	struct chat_server_evt e;
	int n;

	(void)state;
	n = chat_fmt_part_detail(
	    buf, sizeof(buf), 9, "bob", "quit", "off\x1b[2J now", 11);
	assert_string_equal(buf, "PART 9 bob quit off" FFFD "[2J now\n");
	parse_formatted(buf, n, &e);
	assert_str(e.detail, "off" FFFD "[2J now");
	n = chat_fmt_part_detail(buf, sizeof(buf), 9, "bob", "moved", "dev", 3);
	assert_string_equal(buf, "PART 9 bob moved dev\n");
	/* No detail: the old line, byte for byte. */
	n = chat_fmt_part_detail(buf, sizeof(buf), 9, "bob", "quit", NULL, 0);
	assert_string_equal(buf, "PART 9 bob quit\n");
	/* Cut to CHAT_PART_DETAIL_MAX bytes, not inside a character. */
	memset(text, 'a', sizeof(text));
	memcpy(text + CHAT_PART_DETAIL_MAX - 1, "\xc3\xa9", 2);
	n = chat_fmt_part_detail(
	    buf, sizeof(buf), 9, "bob", "quit", text, sizeof(text));
	parse_formatted(buf, n, &e);
	assert_int_equal(e.detail.n, CHAT_PART_DETAIL_MAX - 1);
	/* The longest (all controls) fits the bound with an id prefix. */
	memset(text, 0x1b, sizeof(text));
	n = chat_fmt_part_detail(buf, sizeof(buf) - CHAT_ID_PREFIX_MAX,
	    INT64_MAX, N32, "quit", text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal(chat_fmt_part_detail(buf, sizeof(buf), 9, "bob",
			     "quit now", "x", 1),
	    -1);
}

static void
test_fmt_info_hist_end(void **state)
{
	static const struct chat_info_kv kv[] = {
	    {"max_line", 1024},
	    {"history", 0},
	    {"rate_burst_bytes", INT64_MAX},
	};
	struct chat_info_kv bad[] = {{"Max", 1}};
	char buf[128];
	struct chat_server_evt e;
	int64_t v;
	int n;

	(void)state;
	n = chat_fmt_info(buf, sizeof(buf), kv, 3);
	assert_string_equal(buf, "INFO max_line=1024 history=0 "
				 "rate_burst_bytes=9223372036854775807\n");
	parse_formatted(buf, n, &e);
	assert_true(chat_info_get(&e, "rate_burst_bytes", &v));
	assert_true(v == INT64_MAX);
	assert_int_equal(chat_fmt_info(buf, sizeof(buf), kv, 0), -1);
	assert_int_equal(chat_fmt_info(buf, sizeof(buf), bad, 1), -1);
	bad[0].key = "m";
	bad[0].value = -1;
	assert_int_equal(chat_fmt_info(buf, sizeof(buf), bad, 1), -1);
	assert_int_equal(chat_fmt_info(buf, 20, kv, 3), -1);
	n = chat_fmt_hist_end(buf, sizeof(buf), 0, false);
	assert_string_equal(buf, "HIST END 0 complete\n");
	parse_formatted(buf, n, &e);
	assert_int_equal(e.type, CHAT_EVT_HIST_END);
	n = chat_fmt_hist_end(buf, sizeof(buf), 12, true);
	assert_string_equal(buf, "HIST END 12 gap\n");
	parse_formatted(buf, n, &e);
	assert_true(e.gap);
	assert_int_equal(e.count, 12);
	assert_int_equal(chat_fmt_hist_end(buf, 16, 12, true), -1);
}

static void
test_fmt_greeting_opts_probe(void **state)
{
	char buf[128];
	struct chat_client_cmd c;
	int n;

	(void)state;
	n = chat_fmt_greeting_opts(buf, sizeof(buf), "bob", "dev", "ids since=123");
	assert_string_equal(buf, "CHAT/1 bob dev ids since=123\n");
	parse_formatted_client(buf, n, &c, false);
	assert_true(c.ids);
	assert_true(c.since == 123);
	/* No options: the old greeting, byte for byte. */
	chat_fmt_greeting_opts(buf, sizeof(buf), "bob", "dev", "");
	assert_string_equal(buf, "CHAT/1 bob dev\n");
	chat_fmt_greeting_opts(buf, sizeof(buf), "bob", NULL, NULL);
	assert_string_equal(buf, "CHAT/1 bob\n");
	/* Options without a room name go with "*", the default room. */
	n = chat_fmt_greeting_opts(buf, sizeof(buf), "bob", NULL, "ids");
	assert_string_equal(buf, "CHAT/1 bob * ids\n");
	parse_formatted_client(buf, n, &c, false);
	assert_true(c.ids);
	assert_int_equal(c.room.n, 0);
	chat_fmt_greeting_opts(buf, sizeof(buf), "bob", "", "ids last=2");
	assert_string_equal(buf, "CHAT/1 bob * ids last=2\n");
	/* Words as the server accepts them. */
	assert_int_equal(
	    chat_fmt_greeting_opts(buf, sizeof(buf), "bob", "dev", "ids "), -1);
	assert_int_equal(
	    chat_fmt_greeting_opts(buf, sizeof(buf), "bob", "dev", " ids"), -1);
	assert_int_equal(chat_fmt_greeting_opts(
			     buf, sizeof(buf), "bob", "dev", "ids  last=1"),
	    -1);
	assert_int_equal(
	    chat_fmt_greeting_opts(buf, sizeof(buf), "bob", "dev", "IDS"), -1);
	assert_int_equal(
	    chat_fmt_greeting_opts(buf, sizeof(buf), "bob", "dev", "a\nb"), -1);
	assert_int_equal(chat_fmt_greeting_opts(buf, 20, "bob", "dev", "ids"),
	    19);
	assert_int_equal(
	    chat_fmt_greeting_opts(buf, 19, "bob", "dev", "ids"), -1);
	n = chat_fmt_probe(buf, sizeof(buf), NULL);
	assert_string_equal(buf, "CHAT/1 *\n");
	parse_formatted_client(buf, n, &c, false);
	assert_true(c.probe);
	n = chat_fmt_probe(buf, sizeof(buf), "dev");
	assert_string_equal(buf, "CHAT/1 * dev\n");
	parse_formatted_client(buf, n, &c, false);
	assert_true(c.probe);
	assert_str(c.room, "dev");
	assert_int_equal(chat_fmt_probe(buf, sizeof(buf), "d v"), -1);
	assert_int_equal(chat_fmt_probe(buf, 9, NULL), -1);
}

/* The old server formatters' lines are what they were. */
static void
test_fmt_old_lines_unchanged(void **state)
{
	char buf[128];

	(void)state;
	chat_fmt_part(buf, sizeof(buf), 9, "bob", "quit");
	assert_string_equal(buf, "PART 9 bob quit\n");
	chat_fmt_part(buf, sizeof(buf), 9, "bob", "moved");
	assert_string_equal(buf, "PART 9 bob moved\n");
	chat_fmt_join(buf, sizeof(buf), 0, "bob");
	assert_string_equal(buf, "JOIN 0 bob\n");
	chat_fmt_err(buf, sizeof(buf), CHAT_ERR_BAD_GREETING, "%s",
	    chat_err_text(CHAT_ERR_BAD_GREETING));
	assert_string_equal(
	    buf, "ERR bad-greeting expected CHAT/1 <nick> [<room>]\n");
}

/* ---- crowds: JOINS and PARTS (PROTOCOL.md section 6) ---- */

static void
test_server_crowd(void **state)
{
	struct chat_server_evt e;
	struct chat_str name;
	size_t pos = 0;

	(void)state;
	assert_int_equal(sparse("@7 JOINS 1700000000000 12 alice bob carol",
			     &e), 0);
	assert_int_equal(e.type, CHAT_EVT_JOINS);
	assert_int_equal(e.id, 7);
	assert_int_equal(e.unix_ms, 1700000000000);
	assert_int_equal(e.count, 12);
	assert_int_equal(e.listed, 3);
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, "alice");
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, "bob");
	assert_true(chat_who_next(&e, &pos, &name));
	assert_str(name, "carol");
	assert_false(chat_who_next(&e, &pos, &name));

	assert_int_equal(sparse("@8 PARTS 5 1 dave", &e), 0);
	assert_int_equal(e.type, CHAT_EVT_PARTS);
	assert_int_equal(e.count, 1);
	assert_int_equal(e.listed, 1);
	/* None listed: the count alone; and without an id. */
	assert_int_equal(sparse("PARTS 5 40", &e), 0);
	assert_int_equal(e.count, 40);
	assert_int_equal(e.listed, 0);
	pos = 0;
	assert_false(chat_who_next(&e, &pos, &name));
	assert_int_equal(sparse("JOINS 5 4294967295 a", &e), 0);
	assert_int_equal(e.count, 4294967295u);
}

static void
test_server_crowd_malformed(void **state)
{
	char line[CHAT_CROWD_NAMES_MAX + 64];
	size_t n;

	(void)state;
	expect_malformed("JOINS");
	expect_malformed("JOINS 5");
	expect_malformed("JOINS 5 0");		 /* nobody */
	expect_malformed("JOINS 5 0 alice");
	expect_malformed("JOINS 5 01 alice");	 /* not canonical */
	expect_malformed("JOINS 5 4294967296 a"); /* past UINT32_MAX */
	expect_malformed("JOINS 5 1 alice bob"); /* more names than count */
	expect_malformed("JOINS 5 2 alice ");	 /* trailing space */
	expect_malformed("JOINS 5 2 alice  bob"); /* empty name */
	expect_malformed("JOINS 5 2 al*ce");
	expect_malformed("JOINS x 2 alice");
	expect_malformed("PARTS 5 2 alice " N33);
	expect_malformed("@1 HIST JOINS 5 1 alice"); /* never replayed */
	/* Names past CHAT_CROWD_NAMES_MAX bytes. */
	n = (size_t)snprintf(line, sizeof(line), "JOINS 5 9999 a");
	while (n < CHAT_CROWD_NAMES_MAX + 20)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " a");
	expect_malformed(line);
}

static void
test_fmt_crowd(void **state)
{
	char buf[CHAT_CROWD_LINE_MAX], names[CHAT_CROWD_NAMES_MAX + 2];
	struct chat_server_evt e;
	size_t n;

	(void)state;
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), false, 9, 12,
			     "alice bob", 9), 21);
	assert_string_equal(buf, "JOINS 9 12 alice bob\n");
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), true, 9, 3, "", 0),
	    10);
	assert_string_equal(buf, "PARTS 9 3\n");
	/* Bad arguments. */
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), false, 9, 0, "", 0),
	    -1);
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), false, 9, 1,
			     "alice bob", 9), -1);
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), false, 9, 3,
			     "alice  bob", 10), -1);
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), false, 9, 3,
			     "alice ", 6), -1);
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), false, 9, 3,
			     "a\nb", 3), -1);
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), false, -1, 3,
			     "a", 1), -1);
	assert_int_equal(chat_fmt_crowd(buf, 10, false, 9, 12, "alice", 5),
	    -1);
	/* The longest: CHAT_CROWD_NAMES_MAX bytes with an id, and back. */
	memset(names, 'a', sizeof(names));
	for (n = 32; n < CHAT_CROWD_NAMES_MAX; n += 33)
		names[n] = ' ';
	names[CHAT_CROWD_NAMES_MAX - 1] = 'b';
	assert_true(chat_fmt_crowd(buf, sizeof(buf), true, INT64_MAX,
			UINT32_MAX, names, CHAT_CROWD_NAMES_MAX) > 0);
	assert_int_equal(chat_fmt_crowd(buf, sizeof(buf), true, INT64_MAX,
			     UINT32_MAX, names, CHAT_CROWD_NAMES_MAX + 1), -1);
	{
		char x[CHAT_CROWD_LINE_MAX];
		int k = chat_fmt_with_id(x, sizeof(x), INT64_MAX, false, buf,
		    strlen(buf));

		assert_true(k > 0);
		assert_int_equal(chat_parse_server(x, (size_t)k - 1, &e), 0);
		assert_int_equal(e.type, CHAT_EVT_PARTS);
		assert_int_equal(e.count, UINT32_MAX);
		assert_int_equal(e.names.n, CHAT_CROWD_NAMES_MAX);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_length_bounds),
	    cmocka_unit_test(test_name_charset_allowed),
	    cmocka_unit_test(test_name_charset_refused),
	    cmocka_unit_test(test_token_charset),
	    cmocka_unit_test(test_err_code_spellings),
	    cmocka_unit_test(test_err_lookup_round_trip),
	    cmocka_unit_test(test_greeting_nick_only),
	    cmocka_unit_test(test_greeting_nick_and_room),
	    cmocka_unit_test(test_greeting_nick_32_vs_33),
	    cmocka_unit_test(test_greeting_room_32_vs_33),
	    cmocka_unit_test(test_greeting_bad_nick_and_room),
	    cmocka_unit_test(test_greeting_empty_fields),
	    cmocka_unit_test(test_greeting_too_many_fields),
	    cmocka_unit_test(test_greeting_wrong_magic),
	    cmocka_unit_test(test_greeting_required_first),
	    cmocka_unit_test(test_greeting_bad_utf8),
	    cmocka_unit_test(test_greeting_retry_after_refusal),
	    cmocka_unit_test(test_greeting_after_greeted),
	    cmocka_unit_test(test_msg_text),
	    cmocka_unit_test(test_msg_keeps_spaces_and_tabs),
	    cmocka_unit_test(test_msg_empty_refused),
	    cmocka_unit_test(test_msg_controls_left_for_sanitizer),
	    cmocka_unit_test(test_msg_bad_utf8),
	    cmocka_unit_test(test_me_text),
	    cmocka_unit_test(test_command_case_and_shape),
	    cmocka_unit_test(test_command_with_nul_in_word),
	    cmocka_unit_test(test_nick_command),
	    cmocka_unit_test(test_nick_command_refused),
	    cmocka_unit_test(test_join_command),
	    cmocka_unit_test(test_join_command_refused),
	    cmocka_unit_test(test_who_command),
	    cmocka_unit_test(test_ping_command),
	    cmocka_unit_test(test_ping_command_refused),
	    cmocka_unit_test(test_quit_command_never_refused),
	    cmocka_unit_test(test_srv_ok),
	    cmocka_unit_test(test_srv_ok_members_bounds),
	    cmocka_unit_test(test_srv_ok_malformed),
	    cmocka_unit_test(test_srv_msg),
	    cmocka_unit_test(test_srv_msg_malformed),
	    cmocka_unit_test(test_srv_me),
	    cmocka_unit_test(test_srv_unix_ms_bounds),
	    cmocka_unit_test(test_srv_join),
	    cmocka_unit_test(test_srv_part),
	    cmocka_unit_test(test_srv_nick),
	    cmocka_unit_test(test_srv_who_iterate),
	    cmocka_unit_test(test_srv_who_empty_and_one),
	    cmocka_unit_test(test_srv_who_malformed),
	    cmocka_unit_test(test_who_next_only_for_who),
	    cmocka_unit_test(test_srv_pong),
	    cmocka_unit_test(test_srv_err),
	    cmocka_unit_test(test_srv_err_unknown_code_and_no_text),
	    cmocka_unit_test(test_srv_bye),
	    cmocka_unit_test(test_srv_unknown_lines),
	    cmocka_unit_test(test_srv_bad_utf8),
	    cmocka_unit_test(test_srv_hostile_text_kept_for_escaping),
	    cmocka_unit_test(test_srv_failure_zeroes_out),
	    cmocka_unit_test(test_fmt_ok),
	    cmocka_unit_test(test_fmt_msg),
	    cmocka_unit_test(test_fmt_msg_sanitizes),
	    cmocka_unit_test(test_fmt_msg_refuses_bad_args),
	    cmocka_unit_test(test_fmt_msg_int64_max),
	    cmocka_unit_test(test_fmt_cap_boundary),
	    cmocka_unit_test(test_fmt_join_part_nick),
	    cmocka_unit_test(test_fmt_bye_pong),
	    cmocka_unit_test(test_fmt_err),
	    cmocka_unit_test(test_fmt_err_sanitizes_user_input),
	    cmocka_unit_test(test_fmt_err_text_cut_on_char_boundary),
	    cmocka_unit_test(test_who_builder_sorts),
	    cmocka_unit_test(test_who_builder_sorted_input),
	    cmocka_unit_test(test_who_builder_empty),
	    cmocka_unit_test(test_who_builder_full_keeps_partial),
	    cmocka_unit_test(test_who_builder_refuses_bad_names),
	    cmocka_unit_test(test_who_builder_line_max),
	    cmocka_unit_test(test_fmt_greeting),
	    cmocka_unit_test(test_fmt_client_commands),
	    cmocka_unit_test(test_fmt_client_refuses_line_breakers),
	    cmocka_unit_test(test_roundtrip_server_formatters),
	    cmocka_unit_test(test_roundtrip_every_err_code),
	    cmocka_unit_test(test_roundtrip_random_msg),
	    cmocka_unit_test(test_server_line_max_bound),
	    cmocka_unit_test(test_server_line_max_err),
	    cmocka_unit_test(test_roundtrip_client_formatters),
	    cmocka_unit_test(test_roundtrip_ping_pong),
	    cmocka_unit_test(test_greeting_old_forms_unchanged),
	    cmocka_unit_test(test_greeting_options),
	    cmocka_unit_test(test_greeting_options_unknown_ignored),
	    cmocka_unit_test(test_greeting_options_malformed),
	    cmocka_unit_test(test_greeting_options_repeated),
	    cmocka_unit_test(test_greeting_probe),
	    cmocka_unit_test(test_err_no_such_room),
	    cmocka_unit_test(test_server_id_prefix),
	    cmocka_unit_test(test_server_id_prefix_malformed),
	    cmocka_unit_test(test_server_hist),
	    cmocka_unit_test(test_server_hist_end),
	    cmocka_unit_test(test_server_info),
	    cmocka_unit_test(test_server_part_detail),
	    cmocka_unit_test(test_fmt_with_id),
	    cmocka_unit_test(test_fmt_part_detail),
	    cmocka_unit_test(test_fmt_info_hist_end),
	    cmocka_unit_test(test_fmt_greeting_opts_probe),
	    cmocka_unit_test(test_fmt_old_lines_unchanged),
	    cmocka_unit_test(test_server_crowd),
	    cmocka_unit_test(test_server_crowd_malformed),
	    cmocka_unit_test(test_fmt_crowd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
