/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl talk on a terminal, with GNU readline (see tui.h).
 *
 * Why readline: its callback interface (rl_callback_read_char) lets one
 * poll loop serve the socket, the keyboard and a signalfd, and it has the
 * public calls a chat needs to print above the input: rl_clear_visible_line
 * (the input may wrap over several rows), rl_on_new_line, rl_redisplay,
 * rl_reset_screen_size. libedit's readline emulation (3.1) has the callback
 * calls but neither of those two, so erasing a wrapped input line would be
 * guesswork. (GNU readline is GPLv3: a binary of chatctl is GPL-bound.)
 *
 * Printing a line: erase the prompt and input (every row they take), write
 * the line and LF, then tell readline it is on a fresh line and let it
 * redraw prompt, text and cursor. What was being typed is untouched in
 * readline's buffer, so it reappears as it was.
 *
 * A window size change (SIGWINCH): terminals disagree about what happens
 * to wrapped lines (tmux and VTE reflow them, xterm cuts them), so no
 * cursor arithmetic can find where a wrapped input line now starts. The
 * display is repainted instead: clear the screen, print the last lines
 * shown (kept in a small ring), redraw the input below them.
 *
 * Long lines: chatctl cuts them into rows itself (wrap.h) at the width
 * readline knows (or the kernel's, when readline is not running), each
 * continuation row after a marker, so a message padded to the width can
 * never put a row on screen that reads like someone else's line.
 *
 * Enter: bound to tui_accept instead of accept-line, which erases the
 * input from the screen before the line is handed over: the message comes
 * back from the server and is shown once, as everyone sees it.
 */
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "tui.h"
#include "utf8.h"
#include "wrap.h"

#define HISTORY_MAX 1000 /* lines kept for Up/Down */
#define KEEP_LINES 128 /* lines kept for a repaint: more than any screen */
#define KEEP_BYTES 4096 /* of each, more than a screen row shows */
#define ROW_BYTES 8192 /* a row of a wide terminal, combining marks and all */

static char *kept[KEEP_LINES]; /* ring of the last lines printed */
static size_t kept_next;

static bool active;
static bool saved_ok;
static struct termios saved; /* the terminal as we found it */
static char *entered; /* a line readline handed over */
static bool eof;

/* Readline's line handler: keep the line for tui_input to return. */
static void
on_line(char *line)
{
	if (line == NULL) {
		/* Ctrl-D: leave the prompt on screen as shells do, and stop
		 * readline from drawing a new one below it. */
		eof = true;
		rl_callback_handler_remove();
		fputc('\n', rl_outstream);
		fflush(rl_outstream);
		return;
	}
	/* Into the history now: readline starts the next line's history
	 * walk as soon as this returns. */
	if (line[0] != '\0')
		add_history(line);
	free(entered);
	entered = line;
}

/* Enter: like accept-line, but leave nothing of the input on screen. */
static int
tui_accept(int count, int key)
{
	(void)count;
	(void)key;
	rl_clear_visible_line();
	fflush(rl_outstream);
	rl_done = 1; /* readline then hands the line to on_line */
	return 0;
}

/* Readline owns the terminal: not before start, after EOF or the end. */
static bool
editing(void)
{
	return active && !eof;
}

/* Columns a row may take: readline's (it follows SIGWINCH through
 * tui_resize) while editing, else the kernel's; 0 if unknown. */
static int
screen_cols(void)
{
	struct winsize ws;
	int rows, cols;

	if (editing()) {
		rl_get_screen_size(&rows, &cols);
		return cols;
	}
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		return ws.ws_col;
	return 0;
}

/* A line as rows of our own (wrap.h), each ended with LF. */
static void
put_rows(FILE *f, const char *s, size_t n)
{
	static char row[ROW_BYTES];
	const char *cs = nl_langinfo(CODESET);
	struct wrap w;
	size_t len;

	wrap_init(&w, s, n, screen_cols(), strcmp(cs, "UTF-8") == 0);
	/* Each row consumes input: at most n + 1 rows. */
	while (wrap_next(&w, row, sizeof(row), &len)) {
		fwrite(row, 1, len, f);
		fputc('\n', f);
	}
}

static void
atexit_end(void)
{
	tui_end();
}

void
tui_start(const char *prompt)
{
	static bool registered;

	if (tcgetattr(STDIN_FILENO, &saved) == 0)
		saved_ok = true;
	if (!registered && atexit(atexit_end) == 0)
		registered = true;
	/* Signals are the caller's (signalfd); readline must not catch
	 * them, or it would install handlers behind the caller's back. */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_readline_name = "chatctl";
	rl_instream = stdin;
	rl_outstream = stdout;
	/* No file-name completion in a chat. */
	rl_bind_key('\t', rl_insert);
	rl_initialize();
	/*
	 * Bracketed paste off: a pasted line break then sends a line, as
	 * typing would; with it on, readline writes a CR (and at EOF an LF)
	 * whenever it hands the terminal back, behind the redraw's back.
	 */
	rl_variable_bind("enable-bracketed-paste", "off");
	rl_add_defun("chatctl-accept", tui_accept, -1);
	rl_bind_key_in_map('\r', tui_accept, emacs_standard_keymap);
	rl_bind_key_in_map('\n', tui_accept, emacs_standard_keymap);
	rl_bind_key_in_map('\r', tui_accept, vi_insertion_keymap);
	rl_bind_key_in_map('\n', tui_accept, vi_insertion_keymap);
	rl_bind_key_in_map('\r', tui_accept, vi_movement_keymap);
	rl_bind_key_in_map('\n', tui_accept, vi_movement_keymap);
	stifle_history(HISTORY_MAX);
	eof = false;
	active = true;
	rl_callback_handler_install(prompt, on_line);
}

bool
tui_active(void)
{
	return active;
}

int
tui_input(char **line)
{
	*line = NULL;
	if (!editing())
		return 0;
	rl_callback_read_char();
	if (eof)
		return -1;
	if (entered != NULL) {
		*line = entered;
		entered = NULL;
		return 1;
	}
	return 0;
}

/*
 * Keep a copy of a printed line for repaints. A long line is cut on a
 * character boundary and before any SGR sequence the cut would split
 * (only ours contain ESC: server bytes come escaped), then reset.
 */
static void
keep(const char *s, size_t n)
{
	static const char reset[] = "\033[0m";
	char *copy, *esc;
	bool cut = n > KEEP_BYTES;

	if (cut) {
		n = utf8_trim_partial((const unsigned char *)s, KEEP_BYTES);
		esc = memrchr(s, '\033', n);
		if (esc != NULL &&
		    memchr(esc, 'm', n - (size_t)(esc - s)) == NULL)
			n = (size_t)(esc - s);
	}
	copy = malloc(n + sizeof(reset));
	if (copy == NULL)
		return; /* a repaint shows one line fewer */
	memcpy(copy, s, n);
	memcpy(copy + n, cut ? reset : "", cut ? sizeof(reset) : 1);
	free(kept[kept_next]);
	kept[kept_next] = copy;
	kept_next = (kept_next + 1) % KEEP_LINES;
}

static void
forget(void)
{
	for (size_t i = 0; i < KEEP_LINES; i++) {
		free(kept[i]);
		kept[i] = NULL;
	}
	kept_next = 0;
}

void
tui_print(const char *s, size_t n)
{
	if (!editing()) {
		put_rows(stdout, s, n);
		fflush(stdout);
		return;
	}
	keep(s, n);
	rl_clear_visible_line();
	put_rows(rl_outstream, s, n);
	rl_on_new_line();
	rl_redisplay();
	fflush(rl_outstream);
}

void
tui_set_prompt(const char *prompt)
{
	if (!editing())
		return;
	rl_set_prompt(prompt);
	rl_forced_update_display();
	fflush(rl_outstream);
}

void
tui_resize(void)
{
	int rows, cols, n;
	size_t i;

	if (!editing())
		return;
	rl_reset_screen_size();
	rl_get_screen_size(&rows, &cols);
	/* Home, clear; then as many lines as rows: each takes at least
	 * one, and any excess just scrolls away above. */
	fputs("\033[H\033[2J", rl_outstream);
	n = rows > 1 ? rows - 1 : 1;
	if (n > KEEP_LINES)
		n = KEEP_LINES;
	i = (kept_next + KEEP_LINES - (size_t)n) % KEEP_LINES;
	for (int k = 0; k < n; k++, i = (i + 1) % KEEP_LINES) {
		if (kept[i] == NULL)
			continue;
		put_rows(rl_outstream, kept[i], strlen(kept[i]));
	}
	rl_on_new_line();
	rl_forced_update_display();
	fflush(rl_outstream);
}

void
tui_suspend(void)
{
	if (!editing())
		return;
	rl_clear_visible_line();
	fflush(rl_outstream);
	rl_deprep_terminal();
	if (saved_ok)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
}

void
tui_resume(void)
{
	if (!editing())
		return;
	/* The shell may have changed the terminal while we were stopped:
	 * start over from a restored state. */
	rl_deprep_terminal();
	rl_prep_terminal(1);
	rl_on_new_line();
	rl_forced_update_display();
	fflush(rl_outstream);
}

void
tui_end(void)
{
	if (!active)
		return;
	active = false;
	if (!eof) { /* at EOF on_line has done this */
		rl_callback_sigcleanup();
		rl_clear_visible_line();
		fflush(rl_outstream);
		rl_callback_handler_remove(); /* restores the terminal */
	}
	if (saved_ok)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	free(entered);
	entered = NULL;
	clear_history();
	forget();
}
