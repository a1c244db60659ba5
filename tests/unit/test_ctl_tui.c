/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/tui.c on a pseudo-terminal: the pending area
 * (drawn above the prompt, erased by moving up the rows it took, at most
 * half the window) and Ctrl-C (tui_interrupt). stdin and stdout become
 * the pty's slave for each test; cmocka reports on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>
#include <readline/readline.h>

#include "tui.h"

#define COLS 30
#define ROWS 10

static int master = -1, saved_in = -1, saved_out = -1;
static bool no_pty; /* the machine gives none: the tests skip */
static char got[65536];
static size_t ngot;

/* What the terminal was sent since the last call (NUL-terminated). */
static const char *
output(void)
{
	ssize_t r;

	fflush(stdout);
	ngot = 0;
	/* Bounded by the buffer: the pty holds what we wrote, no more. */
	while (ngot < sizeof(got) - 1 &&
	    (r = read(master, got + ngot, sizeof(got) - 1 - ngot)) > 0)
		ngot += (size_t)r;
	got[ngot] = '\0';
	return got;
}

static int
setup(void **state)
{
	struct winsize ws = { .ws_row = ROWS, .ws_col = COLS };
	int slave;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	slave =
	    master == -1 || grantpt(master) == -1 || unlockpt(master) == -1 ?
	    -1 :
	    open(ptsname(master), O_RDWR | O_NOCTTY);
	if (slave == -1 || ioctl(slave, TIOCSWINSZ, &ws) == -1) {
		fprintf(stderr, "test_ctl_tui: no pseudo-terminal: %s\n",
		    strerror(errno));
		no_pty = true;
		return 0;
	}
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	fflush(stdout);
	saved_in = dup(STDIN_FILENO);
	saved_out = dup(STDOUT_FILENO);
	dup2(slave, STDIN_FILENO);
	dup2(slave, STDOUT_FILENO);
	close(slave);
	tui_start("p> ");
	output();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (no_pty)
		return 0;
	tui_end();
	fflush(stdout);
	dup2(saved_in, STDIN_FILENO);
	dup2(saved_out, STDOUT_FILENO);
	close(saved_in);
	close(saved_out);
	close(master);
	return 0;
}

/* Whether the editor has input within ms (the pty delivers later). */
static bool
readable(int ms)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Type bytes and let the editor take them, as talk.c's loop would: a
 * call whenever there is input (readline takes what it has in one). */
static int
type(const char *s, char **line)
{
	int r = TUI_NONE;

	assert_int_equal(write(master, s, strlen(s)), (ssize_t)strlen(s));
	*line = NULL;
	/* Each call takes at least one byte: at most strlen(s) calls. The
	 * first byte may take a moment; the rest comes with it or soon. */
	for (size_t i = 0;
	     i < strlen(s) && r == TUI_NONE && readable(i == 0 ? 5000 : 100);
	     i++)
		r = tui_input(line);
	return r;
}

/* s with runs of LF made one. */
static const char *
squeeze(char *s)
{
	size_t w = 0;

	for (size_t r = 0; s[r] != '\0'; r++)
		if (s[r] != '\n' || w == 0 || s[w - 1] != '\n')
			s[w++] = s[r];
	s[w] = '\0';
	return s;
}

static void
test_pending_drawn_above_prompt_and_erased(void **state)
{
	const char *lines[] = { "pend one", "pend two" };
	const size_t lens[] = { 8, 8 };
	const char *o, *a, *b, *p;

	(void)state;
	if (no_pty)
		skip();
	tui_set_pending(lines, lens, 2);
	o = output();
	a = strstr(o, "pend one\r\n");
	b = strstr(o, "pend two\r\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_non_null(p = strstr(b, "p> "));
	/* A line printed: up 2 rows, clear, the line, then pending again. */
	tui_print("hello", 5);
	o = output();
	a = strstr(o, "\033[2A\033[J");
	assert_non_null(a);
	b = strstr(a, "hello\r\n");
	assert_non_null(b);
	assert_non_null(strstr(b, "pend one\r\npend two\r\n"));
	/* Cleared: erased, not drawn again. */
	tui_set_pending(NULL, NULL, 0);
	o = output();
	assert_non_null(strstr(o, "\033[2A\033[J"));
	assert_null(strstr(o, "pend"));
	tui_print("x", 1);
	assert_null(strstr(output(), "A\033[J"));
}

static void
test_pending_wrapped_and_capped(void **state)
{
	char longline[3 * COLS];
	const char *ten[10];
	size_t lens[10], n = sizeof(longline);

	(void)state;
	if (no_pty)
		skip();
	memset(longline, 'w', sizeof(longline));
	ten[0] = longline;
	/* 90 columns at 30: four rows (30, then 24 after each marker). */
	tui_set_pending(ten, &n, 1);
	output();
	tui_print("y", 1);
	assert_non_null(strstr(output(), "\033[4A\033[J"));
	/* Ten lines in a window of ten rows: five drawn. */
	for (int i = 0; i < 10; i++) {
		ten[i] = "pending";
		lens[i] = 7;
	}
	tui_set_pending(ten, lens, 10);
	output();
	tui_print("z", 1);
	assert_non_null(strstr(output(), "\033[5A\033[J"));
}

static void
test_interrupt_clears_into_history(void **state)
{
	char *line;

	(void)state;
	if (no_pty)
		skip();
	assert_int_equal(type("abc", &line), TUI_NONE);
	assert_string_equal(rl_line_buffer, "abc");
	assert_int_equal(tui_interrupt(), TUI_INTR_CLEARED);
	assert_int_equal(rl_end, 0);
	assert_int_equal(tui_interrupt(), TUI_INTR_EMPTY);
	/* Up: the draft again (Ctrl-P, as the arrow's escape may vary). */
	assert_int_equal(type("\020", &line), TUI_NONE);
	assert_string_equal(rl_line_buffer, "abc");
	assert_int_equal(type("\r", &line), TUI_LINE);
	assert_string_equal(line, "abc");
	free(line);
}

static void
test_paste_waits_then_enter(void **state)
{
	char *line;

	(void)state;
	if (no_pty)
		skip();
	assert_int_equal(type("\033[200~a\rb\rc\rd\033[201~", &line), TUI_NONE);
	assert_non_null(strstr(output(),
	    "paste of 4 lines: Enter sends them, Ctrl-C cancels"));
	/* Keys do nothing but Enter; Ctrl-D does not leave. */
	assert_int_equal(type("xy\t\004", &line), TUI_NONE);
	assert_int_equal(type("\r", &line), TUI_PASTE);
	assert_string_equal(line, "a\nb\nc\nd");
	free(line);
	/* Two lines: as typed, the last one left to edit. */
	assert_int_equal(type("\033[200~e\rf\033[201~", &line), TUI_LINE);
	assert_string_equal(line, "e");
	free(line);
	assert_string_equal(rl_line_buffer, "f");
	/* CR LF is one break; empty lines do not count (nor are sent). */
	assert_int_equal(type("\025\033[200~a\r\nb\r\n\r\nc\r\nd\r\n\033[201~",
			     &line),
	    TUI_NONE);
	assert_non_null(strstr(output(), "paste of 4 lines"));
	assert_int_equal(type("\r", &line), TUI_PASTE);
	/* The tty may have made CR LF two LFs (ICRNL): an empty line more. */
	assert_string_equal(squeeze(line), "a\nb\nc\nd");
	free(line);
	assert_int_equal(type("\033[200~g\r\r\rh\r\033[201~", &line), TUI_LINE);
	assert_string_equal(line, "g\n\n\nh");
	free(line);
	assert_int_equal(rl_end, 0);
	assert_int_equal(type("f", &line), TUI_NONE);
	/* A paste dropped by Ctrl-C: the draft is back. */
	assert_int_equal(type("\033[200~1\r2\r3\r4\r5\033[201~", &line),
	    TUI_NONE);
	assert_int_equal(tui_interrupt(), TUI_INTR_PASTE);
	assert_string_equal(rl_line_buffer, "f");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_pending_drawn_above_prompt_and_erased, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_wrapped_and_capped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_interrupt_clears_into_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paste_waits_then_enter,
		    setup, teardown),
	};

	/* A terminal readline knows, and no ~/.inputrc of the user's. */
	setenv("TERM", "xterm", 1);
	setenv("INPUTRC", "/dev/null", 1);
	setlocale(LC_CTYPE, "C.UTF-8");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
