/* cmocka: the journal native protocol encoder and the notify env rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"
#include "log.h"
#include "notify.h"
#include "util.h"

static void
test_plain_fields(void **state)
{
	char buf[256];
	size_t len = 0;

	(void)state;
	assert_int_equal(journal_append(buf, sizeof(buf), &len, "MESSAGE",
			     "hello", 5),
	    0);
	assert_int_equal(journal_append(buf, sizeof(buf), &len, "ECHOD_BYTES_IN",
			     "42", 2),
	    0);
	assert_int_equal(len, strlen("MESSAGE=hello\nECHOD_BYTES_IN=42\n"));
	assert_memory_equal(buf, "MESSAGE=hello\nECHOD_BYTES_IN=42\n", len);
}

static void
test_newline_uses_binary_form(void **state)
{
	char buf[256];
	size_t len = 0;
	const char want[] = "MESSAGE\n\x03\0\0\0\0\0\0\0a\nb\n";

	(void)state;
	assert_int_equal(journal_append(buf, sizeof(buf), &len, "MESSAGE",
			     "a\nb", 3),
	    0);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(journal_valid_name("REMOTE_ADDR"));
	assert_true(journal_valid_name("ECHOD_DURATION_USEC"));
	assert_false(journal_valid_name("_PID"));
	assert_false(journal_valid_name("lower"));
	assert_false(journal_valid_name("1ABC"));
	assert_false(journal_valid_name(""));
	assert_false(journal_valid_name("A=B"));
}

static void
test_no_overflow(void **state)
{
	char buf[16];
	size_t len = 0;

	(void)state;
	assert_int_equal(journal_append(buf, sizeof(buf), &len, "MESSAGE",
			     "0123456789", 10),
	    -1);
	assert_int_equal(len, 0);
	assert_int_equal(journal_append(buf, sizeof(buf), &len, "M", "0123", 4),
	    0);
	assert_int_equal(len, 7);
}

static void
test_long_value_cut(void **state)
{
	static char big[JOURNAL_MAX_VALUE * 2], buf[JOURNAL_MAX_ENTRY];
	size_t len = 0;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(journal_append(buf, sizeof(buf), &len, "MESSAGE", big,
			     sizeof(big)),
	    0);
	assert_int_equal(len, strlen("MESSAGE=") + JOURNAL_MAX_VALUE + 1);
}

/* A datagram really reaches a socket bound where journald would be. */
static void
test_send_datagram(void **state)
{
	char path[] = "/tmp/echod-journal-test.XXXXXX";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[64], got[64];
	size_t len = 0;
	int srv, fd;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/socket", path);
	srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(srv, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fd = journal_open(sun.sun_path);
	assert_true(fd >= 0);
	journal_append(buf, sizeof(buf), &len, "MESSAGE", "hi", 2);
	assert_int_equal(journal_send(fd, buf, len, true), 0);
	assert_int_equal(recv(srv, got, sizeof(got), 0), (ssize_t)len);
	assert_memory_equal(got, "MESSAGE=hi\n", len);
	close(fd);
	close(srv);
	unlink(sun.sun_path);
	rmdir(path);
	assert_int_equal(journal_open("/nonexistent/socket"), -1);
}

/* Datagrams waiting in srv, each checked for MESSAGE=want (if not NULL). */
static int
drain(int srv, const char *want)
{
	char got[JOURNAL_MAX_ENTRY];
	ssize_t r;
	int n = 0;

	while ((r = recv(srv, got, sizeof(got) - 1, MSG_DONTWAIT)) > 0) {
		got[r] = '\0';
		if (want != NULL)
			assert_non_null(strstr(got, want));
		n++;
	}
	return n;
}

/*
 * log.c over a journald that stops reading: the lines that fit arrive, the
 * rest are dropped (only the first one waits), and the next line that gets
 * through is preceded by the count of lost ones.
 */
static void
test_log_reports_lines_journald_had_no_room_for(void **state)
{
	char path[] = "/tmp/echod-journal-test.XXXXXX", want[96];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const int total = 60;
	int srv, fit, n;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/socket", path);
	srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(srv, (struct sockaddr *)&sun, sizeof(sun)), 0);
	log_use_journal(sun.sun_path);
	assert_true(log_to_journal());
	/*
	 * Only the first line that finds no room waits (100 ms); the other
	 * ~50 are dropped at once. Were each to wait, this would take over
	 * 5 s: the alarm makes that a failure (20 times the right time).
	 */
	alarm(2);
	for (int i = 0; i < total; i++)
		log_info("line %d", i);
	fit = drain(srv, "MESSAGE=line ");
	/* Bounded by the receiver's queue (net.unix.max_dgram_qlen). */
	assert_true(fit > 0 && fit < total);
	log_info("after");
	snprintf(want, sizeof(want), "%d log lines lost", total - fit);
	{
		char got[JOURNAL_MAX_ENTRY];
		ssize_t r = recv(srv, got, sizeof(got) - 1, MSG_DONTWAIT);

		assert_true(r > 0);
		got[r] = '\0';
		assert_non_null(strstr(got, "journald fell behind"));
		assert_non_null(strstr(got, want));
		assert_non_null(strstr(got, "PRIORITY=4"));
	}
	n = drain(srv, "MESSAGE=after");
	assert_int_equal(n, 1);
	alarm(0);
	log_use_journal("/nonexistent/socket");
	close(srv);
	unlink(sun.sun_path);
	rmdir(path);
}

/*
 * A journald that never reads: sends fill its queue, then fail with EAGAIN
 * (after the bounded wait, or at once without it) instead of blocking the
 * sender for ever; once it reads again, sends go through.
 */
static void
test_send_to_a_stuck_journald(void **state)
{
	char path[] = "/tmp/echod-journal-test.XXXXXX";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[256], got[256];
	size_t len = 0;
	int srv, fd, sent = 0;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/socket", path);
	srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(srv, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fd = journal_open(sun.sun_path);
	assert_true(fd >= 0);
	journal_append(buf, sizeof(buf), &len, "MESSAGE", "queued", 6);
	/* Bounded: the receiver's queue holds at most max_dgram_qlen. */
	while (sent < 100000 && journal_send(fd, buf, len, false) == 0)
		sent++;
	assert_true(sent > 0 && sent < 100000);
	assert_int_equal(errno, EAGAIN);
	/*
	 * Waiting means waiting: at least most of JOURNAL_SEND_WAIT_USEC
	 * (a lower bound the kernel guarantees, not a speed), and not for
	 * ever (the alarm turns a hang into a failure).
	 */
	alarm(5);
	{
		int64_t t0 = now_mono_usec();

		assert_int_equal(journal_send(fd, buf, len, true), -1);
		assert_int_equal(errno, EAGAIN);
		assert_true(now_mono_usec() - t0 >= JOURNAL_SEND_WAIT_USEC / 2);
	}
	alarm(0);
	assert_int_equal(recv(srv, got, sizeof(got), 0), (ssize_t)len);
	assert_int_equal(journal_send(fd, buf, len, true), 0);
	close(fd);
	close(srv);
	unlink(sun.sun_path);
	rmdir(path);
}

static void
test_env_pid_guard(void **state)
{
	(void)state;
	assert_string_equal(notify_env_for_pid("3", "123", 123), "3");
	assert_null(notify_env_for_pid("3", "124", 123));
	assert_null(notify_env_for_pid("3", "12x", 123));
	assert_string_equal(notify_env_for_pid("3", NULL, 123), "3");
	assert_null(notify_env_for_pid(NULL, "123", 123));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_fields),
		cmocka_unit_test(test_newline_uses_binary_form),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_no_overflow),
		cmocka_unit_test(test_long_value_cut),
		cmocka_unit_test(test_send_datagram),
		cmocka_unit_test(test_send_to_a_stuck_journald),
		cmocka_unit_test(test_log_reports_lines_journald_had_no_room_for),
		cmocka_unit_test(test_env_pid_guard),
	};

	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
