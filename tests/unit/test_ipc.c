/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for common/ipc.c: one checked message per SEQPACKET packet,
 * with descriptors; everything a hostile sender can put on a channel is
 * refused whole, and an empty packet is not mistaken for the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

static int
open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
test_round_trip_with_payload_and_two_fds(void **state)
{
	int sp[2], a[2], fds[2];
	char buf[64];
	struct ipc_msg m;
	struct iovec v[2] = { { "hel", 3 }, { "lo", 2 } };

	(void)state;
	assert_int_equal(ipc_pair(sp, false), 0);
	assert_int_equal(pipe(a), 0);
	fds[0] = a[0];
	fds[1] = a[1];
	assert_int_equal(ipc_sendv(sp[0], 7, v, 2, fds, 2, 0), 0);
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), 1);
	assert_int_equal(m.type, 7);
	assert_int_equal(m.len, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(m.nfds, 2);
	assert_true(m.fd[0] >= 0 && m.fd[1] >= 0);
	/* They are the pipe's ends: a byte goes through. */
	assert_int_equal(write(m.fd[1], "x", 1), 1);
	assert_int_equal(read(a[0], buf, 1), 1);
	assert_true(ipc_expect(&m, 5, 5, 2));
	ipc_close_fds(&m);
	close(a[0]);
	close(a[1]);
	close(sp[0]);
	close(sp[1]);
}

static void
test_empty_payload_and_eof(void **state)
{
	int sp[2];
	char buf[8];
	struct ipc_msg m;

	(void)state;
	assert_int_equal(ipc_pair(sp, false), 0);
	assert_int_equal(ipc_send(sp[0], 3, NULL, 0, NULL, 0, 0), 0);
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), 1);
	assert_int_equal(m.type, 3);
	assert_int_equal(m.len, 0);
	assert_int_equal(m.nfds, 0);
	close(sp[0]);
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), 0);
	close(sp[1]);
}

/* A zero-length packet from a live peer is garbage, not the end. */
static void
test_empty_packet_is_refused_not_eof(void **state)
{
	int sp[2];
	char buf[8];
	struct ipc_msg m;

	(void)state;
	assert_int_equal(ipc_pair(sp, true), 0);
	assert_int_equal(send(sp[0], "", 0, 0), 0);
	assert_int_equal(ipc_send(sp[0], 9, "ok", 2, NULL, 0, 0), 0);
	errno = 0;
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(m.bad, "an empty packet");
	/* The next, good message is still there. */
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), 1);
	assert_int_equal(m.type, 9);
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), -1);
	assert_int_equal(errno, EAGAIN);
	close(sp[0]);
	close(sp[1]);
}

static void
test_bad_headers_are_refused(void **state)
{
	int sp[2];
	char buf[64];
	struct ipc_msg m;
	struct ipc_hdr h = { .type = 1, .len = 10 };
	char pkt[sizeof(h) + 4];

	(void)state;
	assert_int_equal(ipc_pair(sp, false), 0);
	/* Shorter than a header. */
	assert_int_equal(send(sp[0], "abc", 3, 0), 3);
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(m.bad, "a packet shorter than a header");
	/* States 10 bytes, carries 4. */
	memcpy(pkt, &h, sizeof(h));
	memcpy(pkt + sizeof(h), "abcd", 4);
	assert_int_equal(send(sp[0], pkt, sizeof(pkt), 0), sizeof(pkt));
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(m.bad,
	    "a packet whose length is not the one it states");
	/* Reserved flags set. */
	h.len = 4;
	h.flags = 1;
	memcpy(pkt, &h, sizeof(h));
	assert_int_equal(send(sp[0], pkt, sizeof(pkt), 0), sizeof(pkt));
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(m.bad, "a packet with reserved flags set");
	close(sp[0]);
	close(sp[1]);
}

/* Bigger than the receiver's buffer: refused, and its fd not leaked. */
static void
test_truncated_message_is_refused_and_its_fd_closed(void **state)
{
	int sp[2], p[2], before;
	char big[100] = { 0 }, buf[16];
	struct ipc_msg m;

	(void)state;
	assert_int_equal(ipc_pair(sp, false), 0);
	assert_int_equal(pipe(p), 0);
	before = open_fds();
	assert_int_equal(ipc_send(sp[0], 2, big, sizeof(big), &p[0], 1, 0), 0);
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(m.bad, "a packet longer than its receiver takes");
	assert_int_equal(open_fds(), before);
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

/* Three descriptors where at most two may come: all closed. */
static void
test_too_many_fds_are_refused_and_closed(void **state)
{
	int sp[2], p[2], before, fds[3];
	char buf[16];
	struct ipc_hdr h = { .type = 4 };
	struct iovec v = { &h, sizeof(h) };
	union {
		struct cmsghdr hdr;
		char b[CMSG_SPACE(3 * sizeof(int))];
	} cm;
	struct msghdr msg = { .msg_iov = &v, .msg_iovlen = 1,
		.msg_control = cm.b, .msg_controllen = sizeof(cm.b) };
	struct cmsghdr *c;
	struct ipc_msg m;

	(void)state;
	assert_int_equal(ipc_pair(sp, false), 0);
	assert_int_equal(pipe(p), 0);
	fds[0] = fds[1] = fds[2] = p[0];
	memset(&cm, 0, sizeof(cm));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	before = open_fds();
	assert_int_equal(sendmsg(sp[0], &msg, 0), (ssize_t)sizeof(h));
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(m.bad, "a packet with too many descriptors");
	assert_int_equal(open_fds(), before);
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

static void
test_expect_checks_length_and_fds(void **state)
{
	int p[2];
	struct ipc_msg m = { .len = 4, .nfds = 1 };

	(void)state;
	assert_int_equal(pipe(p), 0);
	m.fd[0] = p[0];
	m.fd[1] = -1;
	assert_true(ipc_expect(&m, 4, 4, 1));
	assert_false(ipc_expect(&m, 5, 8, 1));
	/* Refused: its descriptor was closed. */
	assert_int_equal(m.nfds, 0);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	m = (struct ipc_msg){ .len = 0, .nfds = 0 };
	m.fd[0] = m.fd[1] = -1;
	assert_false(ipc_expect(&m, 0, 0, 1));
	close(p[1]);
}

static void
test_credentials_name_the_sender(void **state)
{
	int sp[2], one = 1;
	char buf[8];
	struct ipc_msg m;

	(void)state;
	assert_int_equal(ipc_pair(sp, false), 0);
	assert_int_equal(setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof(one)), 0);
	assert_int_equal(ipc_send(sp[0], 1, "x", 1, NULL, 0, 0), 0);
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &m, 0), 1);
	assert_int_equal(m.pid, getpid());
	close(sp[0]);
	close(sp[1]);
}

static void
test_full_channel_says_eagain(void **state)
{
	int sp[2], sz = 4096;
	char blob[1024] = { 0 };
	int i;

	(void)state;
	assert_int_equal(ipc_pair(sp, true), 0);
	(void)setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	for (i = 0; i < 100000; i++)
		if (ipc_send(sp[0], 1, blob, sizeof(blob), NULL, 0,
		    MSG_DONTWAIT) == -1)
			break;
	assert_true(i < 100000);
	assert_int_equal(errno, EAGAIN);
	close(sp[0]);
	close(sp[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_with_payload_and_two_fds),
		cmocka_unit_test(test_empty_payload_and_eof),
		cmocka_unit_test(test_empty_packet_is_refused_not_eof),
		cmocka_unit_test(test_bad_headers_are_refused),
		cmocka_unit_test(test_truncated_message_is_refused_and_its_fd_closed),
		cmocka_unit_test(test_too_many_fds_are_refused_and_closed),
		cmocka_unit_test(test_expect_checks_length_and_fds),
		cmocka_unit_test(test_credentials_name_the_sender),
		cmocka_unit_test(test_full_channel_says_eagain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
