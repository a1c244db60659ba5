/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for daemon/logrec.c (log records on the log channel) and the
 * front end in daemon/log.c: a record round-trips, a hostile one is
 * refused whole, a full channel costs a counted drop that the next record
 * carries, and a sender waits a bounded time, never longer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"
#include "log.h"
#include "logrec.h"
#include "util.h"

#define S(x) ((struct logrec_str){ (x), sizeof(x) - 1 })
#define F(n, v) ((struct logrec_field){ S(n), S(v) })

static struct logrec
sample(void)
{
	struct logrec r = { .prio = LOG_INFO, .ev = EV_CLOSE, .err = 0,
		.line = 321, .dropped = 0, .file = S("daemon/engine.c"),
		.func = S("log_close"), .role = S("engine"),
		.msg = S("close 127.0.0.1:5 echo: 3 bytes in"), .nfields = 2 };

	r.field[0] = F("REMOTE_ADDR", "127.0.0.1");
	r.field[1] = F("ECHOD_NOTE", "two\nlines");
	return r;
}

static bool
str_eq(struct logrec_str s, const char *want)
{
	return s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void
test_round_trip(void **state)
{
	char buf[LOGREC_MAX];
	struct logrec in = sample(), out;
	const char *why = NULL;
	size_t n;

	(void)state;
	n = logrec_encode(&in, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(logrec_decode(buf, n, EV_COUNT, &out, &why), 0);
	assert_int_equal(out.prio, LOG_INFO);
	assert_int_equal(out.ev, EV_CLOSE);
	assert_int_equal(out.line, 321);
	assert_true(str_eq(out.file, "daemon/engine.c"));
	assert_true(str_eq(out.func, "log_close"));
	assert_true(str_eq(out.role, "engine"));
	assert_true(str_eq(out.msg, "close 127.0.0.1:5 echo: 3 bytes in"));
	assert_int_equal(out.nfields, 2);
	assert_true(str_eq(out.field[0].name, "REMOTE_ADDR"));
	assert_true(str_eq(out.field[1].value, "two\nlines"));
	/* "NAME=value" is one string, as sd_journal_sendv takes it. */
	assert_memory_equal(out.field[0].name.p, "REMOTE_ADDR=127.0.0.1", 21);
}

/* A sender cannot set the fields the writer sets itself. */
static void
test_reserved_and_bad_names_are_refused(void **state)
{
	static const char *const names[] = { "MESSAGE_ID", "PRIORITY",
		"CODE_FILE", "ERRNO", "ECHOD_PID", "ECHOD_ROLE", "_PID",
		"lower", "1ABC", "A-B" };
	char buf[LOGREC_MAX];
	struct logrec r, out;
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char wire[LOGREC_MAX];
		size_t n;

		r = sample();
		n = logrec_encode(&r, buf, sizeof(buf));
		/* The encoder skips a bad name; write the wire by hand. */
		memcpy(wire, buf, n);
		{
			char f[80];
			int k = snprintf(f, sizeof(f), "%s=x", names[i]);
			uint16_t len = (uint16_t)k;

			memcpy(wire + n, &len, sizeof(len));
			memcpy(wire + n + sizeof(len), f, (size_t)k);
			wire[2] = 3; /* nfields */
			assert_int_equal(logrec_decode(wire, n + sizeof(len) +
			    (size_t)k, EV_COUNT, &out, &why), -1);
		}
	}
	assert_true(logrec_reserved_name("MESSAGE", 7));
	assert_false(logrec_reserved_name("REMOTE_ADDR", 11));
	assert_false(logrec_valid_name("", 0));
}

/* Every way to lie about a length, and every cut, is refused. */
static void
test_every_prefix_and_bad_header_is_refused(void **state)
{
	char buf[LOGREC_MAX], bad[LOGREC_MAX + 16];
	struct logrec r = sample(), out;
	const char *why = NULL;
	size_t n = logrec_encode(&r, buf, sizeof(buf));

	(void)state;
	for (size_t k = 0; k < n; k++) {
		why = NULL;
		assert_int_equal(logrec_decode(buf, k, EV_COUNT, &out, &why),
		    -1);
		assert_non_null(why);
	}
	/* Trailing bytes. */
	memcpy(bad, buf, n);
	bad[n] = 'x';
	assert_int_equal(logrec_decode(bad, n + 1, EV_COUNT, &out, &why), -1);
	/* A priority, an event, a field count out of range. */
	memcpy(bad, buf, n);
	bad[0] = 9;
	assert_int_equal(logrec_decode(bad, n, EV_COUNT, &out, &why), -1);
	memcpy(bad, buf, n);
	bad[1] = EV_COUNT;
	assert_int_equal(logrec_decode(bad, n, EV_COUNT, &out, &why), -1);
	memcpy(bad, buf, n);
	bad[2] = LOGREC_MAX_FIELDS + 1;
	assert_int_equal(logrec_decode(bad, n, EV_COUNT, &out, &why), -1);
	/* A role or code location that is not what a compiler or we wrote. */
	r = sample();
	r.role = S("Engine\n");
	n = logrec_encode(&r, buf, sizeof(buf));
	assert_int_equal(logrec_decode(buf, n, EV_COUNT, &out, &why), -1);
	r = sample();
	r.file = S("a file");
	n = logrec_encode(&r, buf, sizeof(buf));
	assert_int_equal(logrec_decode(buf, n, EV_COUNT, &out, &why), -1);
}

/* Too long: MESSAGE is cut to fit, a field is whole or left out. */
static void
test_encoder_bounds(void **state)
{
	static char longmsg[LOGREC_MAX * 2], longval[LOGREC_MAX_FIELD + 10];
	char small[200], buf[LOGREC_MAX];
	struct logrec r = sample(), out;
	const char *why = NULL;
	size_t n;

	(void)state;
	memset(longmsg, 'm', sizeof(longmsg));
	memset(longval, 'v', sizeof(longval));
	r.msg = (struct logrec_str){ longmsg, sizeof(longmsg) };
	n = logrec_encode(&r, buf, sizeof(buf));
	assert_int_equal(logrec_decode(buf, n, EV_COUNT, &out, &why), 0);
	assert_int_equal(out.msg.n, LOGREC_MAX_MSG);
	r = sample();
	r.field[0] = (struct logrec_field){ S("BIG"),
		{ longval, sizeof(longval) } };
	n = logrec_encode(&r, buf, sizeof(buf));
	assert_int_equal(logrec_decode(buf, n, EV_COUNT, &out, &why), 0);
	assert_int_equal(out.nfields, 1);
	assert_true(str_eq(out.field[0].name, "ECHOD_NOTE"));
	/* A small buffer: never written past, still a valid record. */
	r = sample();
	memset(small, 0x55, sizeof(small));
	n = logrec_encode(&r, small, sizeof(small) - 50);
	assert_true(n <= sizeof(small) - 50);
	assert_int_equal((unsigned char)small[sizeof(small) - 50], 0x55);
	assert_int_equal(logrec_decode(small, n, EV_COUNT, &out, &why), 0);
}

static int
recv_record(int fd, char *buf, struct logrec *r)
{
	struct ipc_msg m;
	const char *why;

	if (ipc_recv(fd, buf, LOGREC_MAX, &m, MSG_DONTWAIT) != 1)
		return -1;
	assert_int_equal(m.type, LOGREC_ENTRY);
	return logrec_decode(buf, m.len, EV_COUNT, r, &why);
}

/*
 * A full channel: the first record that finds no room waits (bounded),
 * then is dropped and counted; later ones are dropped without waiting;
 * the next record that gets through carries the count.
 */
static void
test_full_channel_drops_count_and_report(void **state)
{
	static char buf[LOGREC_MAX];
	int sp[2], sz = 4096;
	struct logrec r;
	unsigned sent = 0, got = 0;
	int64_t t0, waited;

	(void)state;
	assert_int_equal(ipc_pair(sp, false), 0);
	(void)setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	log_set_channel(sp[0]);
	log_set_level(LOG_DEBUG);
	/* Fill it (bounded: a few KiB of records). */
	while (log_dropped() == 0 && sent < 10000) {
		log_info("filler %u", sent);
		sent++;
	}
	assert_true(log_dropped() == 1);
	/* Congested: no more waiting. */
	t0 = now_mono_usec();
	for (int i = 0; i < 5; i++)
		log_info("dropped %d", i);
	waited = now_mono_usec() - t0;
	assert_true(waited < 50000);
	assert_int_equal(log_dropped(), 6);
	/* Drain, then one more: it carries the six. */
	while (recv_record(sp[1], buf, &r) == 0)
		got++;
	assert_int_equal(got, sent - 1);
	log_event(LOG_NOTICE, EV_READY, NULL, 0, "after");
	assert_int_equal(recv_record(sp[1], buf, &r), 0);
	assert_int_equal(r.dropped, 6);
	assert_int_equal(r.ev, EV_READY);
	assert_true(str_eq(r.msg, "after"));
	assert_int_equal(log_dropped(), 0);
	log_set_channel(-1);
	close(sp[0]);
	close(sp[1]);
}

/* log_warn: errno goes in the record and in the message. */
static void
test_errno_and_code_location(void **state)
{
	static char buf[LOGREC_MAX];
	int sp[2];
	struct logrec r;
	int line;

	(void)state;
	assert_int_equal(ipc_pair(sp, false), 0);
	log_set_channel(sp[0]);
	log_set_role("worker");
	errno = ECONNRESET;
	line = __LINE__ + 1;
	log_warn("reading %s", "the client");
	assert_int_equal(recv_record(sp[1], buf, &r), 0);
	assert_int_equal(r.err, ECONNRESET);
	assert_int_equal(r.prio, LOG_WARNING);
	assert_int_equal(r.line, (uint32_t)line);
	assert_true(str_eq(r.func, "test_errno_and_code_location"));
	assert_true(str_eq(r.file, "tests/unit/test_logrec.c"));
	assert_true(str_eq(r.role, "worker"));
	assert_true(r.msg.n > 18 &&
	    memcmp(r.msg.p, "reading the client: ", 20) == 0);
	log_set_channel(-1);
	close(sp[0]);
	close(sp[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reserved_and_bad_names_are_refused),
		cmocka_unit_test(test_every_prefix_and_bad_header_is_refused),
		cmocka_unit_test(test_encoder_bounds),
		cmocka_unit_test(test_full_channel_drops_count_and_report),
		cmocka_unit_test(test_errno_and_code_location),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
