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
 *
 * Tab: tui_tab, not readline's completer (which quotes, lists and
 * appends as for file names): complete.c says what the word becomes, and
 * a Tab right after a Tab puts the next candidate in its place.
 *
 * A paste (bracketed: readline reads it whole): up to TUI_PASTE_ASK lines
 * go as if typed; more wait behind a question in the prompt, in a keymap
 * where only Enter (and a paste, dropped) does anything.
 *
 * The pending area: rows drawn above the prompt; before anything else is
 * drawn they are erased by moving up as many rows as they took (we cut
 * them ourselves, so the count is exact).
 */
#include <langinfo.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "complete.h"
#include "display.h"
#include "tui.h"
#include "utf8.h"
#include "wrap.h"

#define HISTORY_MAX 1000 /* lines kept for Up/Down */
#define KEEP_LINES 128 /* lines kept for a repaint: more than any screen */
#define KEEP_BYTES 4096 /* of each, more than a screen row shows */
#define ROW_BYTES 8192 /* a row of a wide terminal, combining marks and all */

static char *kept[KEEP_LINES]; /* ring of the last lines printed */
static size_t kept_next;

static char *pending[TUI_PENDING_MAX]; /* tui_set_pending's lines */
static size_t npending;
static int pending_rows; /* rows of them on screen, above the prompt */

static struct complete_roster roster;
static struct complete_cands cands; /* of the last Tab */
static size_t cand_next;
static bool bell;

static char *prompt; /* the caller's prompt, while a paste asks its own */
static Keymap paste_map; /* while a paste waits: Enter, or nothing */
static Keymap paste_prev; /* the keymap to go back to */
static bool pasting; /* a paste waits for Enter */
static char *paste_text; /* its lines, LF between */
static char *paste_draft; /* the line as it was before it */
static int paste_point;
static char *pasted; /* a paste confirmed, for tui_input */

static bool active;
static bool saved_ok;
static struct termios saved; /* the terminal as we found it */
static char *entered; /* a line readline handed over */
static bool eof;

/* Readline's line handler: keep the line for tui_input to return. */
static void
on_line(char *line)
{
	const char *bp;

	if (line == NULL) {
		/* Ctrl-D: leave the prompt on screen as shells do, and stop
		 * readline from drawing a new one below it. */
		eof = true;
		rl_callback_handler_remove();
		/* With bracketed paste on, readline has written it. */
		bp = rl_variable_value("enable-bracketed-paste");
		if (bp == NULL || strcmp(bp, "on") != 0)
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
static void paste_end(bool send);

static int
tui_accept(int count, int key)
{
	(void)count;
	(void)key;
	if (pasting) {
		paste_end(true);
		return 0;
	}
	rl_clear_visible_line();
	fflush(rl_outstream);
	rl_done = 1; /* readline then hands the line to on_line */
	return 0;
}

/* Readline owns the terminal: not before start, after EOF or the end. */
/*
 * Keys as readline reads them. While a paste waits, the terminal's EOF
 * key (Ctrl-D) must not end the chat: readline takes it for EOF on an
 * empty line before any keymap sees it, so here it becomes a key the
 * paste's keymap ignores.
 */
static int
tui_getc(FILE *f)
{
	int c = rl_getc(f);

	if (pasting && saved_ok && c != EOF && c != 0 &&
	    c == (unsigned char)saved.c_cc[VEOF])
		return 0;
	return c;
}

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

/* A line as rows of our own (wrap.h), each ended with LF, at most max
 * of them; returns how many. */
static int
put_rows(FILE *f, const char *s, size_t n, int max)
{
	static char row[ROW_BYTES];
	const char *cs = nl_langinfo(CODESET);
	struct wrap w;
	size_t len;
	int rows = 0;

	wrap_init(&w, s, n, screen_cols(), strcmp(cs, "UTF-8") == 0);
	wrap_indent(&w, display_text_col(s, n));
	/* Each row consumes input: at most n + 1 rows. */
	while (rows < max && wrap_next(&w, row, sizeof(row), &len)) {
		fwrite(row, 1, len, f);
		fputc('\n', f);
		rows++;
	}
	return rows;
}

/* Erase the input line and the pending area: the cursor ends where the
 * pending area began. */
static void
erase(void)
{
	rl_clear_visible_line();
	if (pending_rows > 0)
		fprintf(rl_outstream, "\r\033[%dA\033[J", pending_rows);
	pending_rows = 0;
}

/* The pending area, at most half the window (so erase can reach it). */
static void
draw_pending(void)
{
	int rows, cols, max;

	rl_get_screen_size(&rows, &cols);
	max = rows / 2;
	for (size_t i = 0; i < npending && pending_rows < max; i++)
		pending_rows += put_rows(rl_outstream, pending[i],
		    strlen(pending[i]), max - pending_rows);
}

/* After erase: pending area, then prompt and input as they were. */
static void
draw(void)
{
	draw_pending();
	rl_on_new_line();
	rl_redisplay();
	fflush(rl_outstream);
}

static int tui_tab(int count, int key);

/* Whether this Tab follows a Tab whose candidate is still in place before
 * the cursor (Ctrl-C or a paste may have changed the line since). */
static bool
again(void)
{
	size_t n;

	if (rl_last_func != tui_tab || cands.n == 0 ||
	    cands.start > (size_t)rl_point)
		return false;
	n = strlen(cands.word[cand_next]);
	return (size_t)rl_point - cands.start == n &&
	    memcmp(rl_line_buffer + cands.start, cands.word[cand_next], n) == 0;
}

/* Tab: the first candidate for the word before the cursor, or the next
 * one in place of the last if the key before was Tab too. */
static int
tui_tab(int count, int key)
{
	size_t end = (size_t)rl_point;

	(void)count;
	(void)key;
	if (again()) {
		cand_next = (cand_next + 1) % cands.n;
	} else {
		if (complete_candidates(&roster, rl_line_buffer,
			(size_t)rl_end, end, &cands) == 0)
			return 0; /* nothing: no tab, no bell */
		cand_next = 0;
	}
	rl_begin_undo_group();
	rl_delete_text((int)cands.start, (int)end);
	rl_point = (int)cands.start;
	rl_insert_text(cands.word[cand_next]);
	rl_end_undo_group();
	return 0;
}

/* Any key while a paste waits for Enter. */
static int
tui_ignore(int count, int key)
{
	(void)count;
	(void)key;
	return 0;
}

static void
set_line(const char *text, int point)
{
	rl_replace_line(text, 1); /* the undo list would not fit it */
	rl_point = point < 0 || point > rl_end ? rl_end : point;
	rl_mark = 0;
}

/* A new prompt, drawn from the input's first row (the old text may
 * have been longer). */
static void
reprompt(const char *p)
{
	rl_clear_visible_line();
	rl_set_prompt(p);
	rl_on_new_line();
	rl_redisplay();
	fflush(rl_outstream);
}

/* Lines in s to send: LF-separated, not empty (talk sends no empty
 * line). */
static size_t
count_lines(const char *s)
{
	size_t n = 0;

	/* One step a byte: bounded by the string. */
	for (bool text = false;; s++) {
		if (*s == '\n' || *s == '\0') {
			n += text;
			text = false;
			if (*s == '\0')
				return n;
		} else {
			text = true;
		}
	}
}

/* A pasted line break is CR (most terminals), CR LF or LF: each one LF. */
static void
paste_breaks(int from, int to)
{
	int w = from, r;

	for (r = from; r < rl_end; r++) {
		char c = rl_line_buffer[r];

		if (r < to && c == '\r') {
			if (r + 1 < to && rl_line_buffer[r + 1] == '\n')
				continue;
			c = '\n';
		}
		rl_line_buffer[w++] = c;
	}
	rl_point = to - (r - w);
	rl_end = w;
	rl_line_buffer[rl_end] = '\0';
}

/* Up to TUI_PASTE_ASK lines: the complete ones go as typed, the rest
 * stays to edit. */
static void
paste_as_typed(void)
{
	char *lf = strrchr(rl_line_buffer, '\n'), *rest, *p, *nl;

	rest = strdup(lf + 1);
	free(entered);
	entered = strndup(rl_line_buffer, (size_t)(lf - rl_line_buffer));
	if (rest == NULL || entered == NULL) {
		free(rest);
		return; /* out of memory: the paste stays in the line */
	}
	for (p = entered; p != NULL; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (*p != '\0')
			add_history(p);
		if (nl != NULL)
			*nl = '\n';
	}
	set_line(rest, -1);
	free(rest);
}

/* More: the question in the prompt until Enter or Ctrl-C. */
static void
paste_ask(char *draft, int point)
{
	char q[96];
	size_t n;

	paste_text = strdup(rl_line_buffer);
	if (paste_text == NULL) {
		free(draft);
		return;
	}
	n = strlen(paste_text);
	while (n > 0 && paste_text[n - 1] == '\n')
		paste_text[--n] = '\0';
	paste_draft = draft;
	paste_point = point;
	pasting = true;
	snprintf(q, sizeof(q),
	    "paste of %zu lines: Enter sends them, Ctrl-C cancels ",
	    count_lines(paste_text));
	set_line("", 0);
	paste_prev = rl_get_keymap();
	rl_set_keymap(paste_map);
	reprompt(q);
}

static void
paste_end(bool send)
{
	pasting = false;
	rl_set_keymap(paste_prev);
	if (send) {
		free(pasted);
		pasted = paste_text;
		set_line("", 0);
	} else {
		free(paste_text);
		set_line(paste_draft != NULL ? paste_draft : "", paste_point);
	}
	paste_text = NULL;
	free(paste_draft);
	paste_draft = NULL;
	reprompt(prompt != NULL ? prompt : "> ");
}

/* The terminal's "\e[200~": readline reads up to "\e[201~" and inserts
 * it at the cursor; then we look at the whole line. */
static int
tui_paste(int count, int key)
{
	int p0 = rl_point;
	char *draft = rl_copy_text(0, rl_end);

	rl_bracketed_paste_begin(count, key);
	if (pasting) { /* another paste while one waits: dropped */
		free(draft);
		set_line("", 0);
		return 0;
	}
	paste_breaks(p0, rl_point);
	if (strchr(rl_line_buffer, '\n') == NULL) {
		free(draft); /* one line: edit it */
		return 0;
	}
	if (count_lines(rl_line_buffer) <= TUI_PASTE_ASK) {
		free(draft);
		paste_as_typed();
		return 0;
	}
	paste_ask(draft, p0);
	return 0;
}

static void
bind_keys(void)
{
	Keymap maps[] = { emacs_standard_keymap, vi_insertion_keymap };

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		rl_bind_key_in_map('\t', tui_tab, maps[i]);
		rl_bind_keyseq_in_map("\033[200~", tui_paste, maps[i]);
	}
	rl_bind_keyseq_in_map("\033[200~", tui_paste, vi_movement_keymap);
	if (paste_map == NULL) {
		paste_map = rl_make_bare_keymap();
		for (int k = 0; k < KEYMAP_SIZE; k++)
			rl_bind_key_in_map(k, tui_ignore, paste_map);
		rl_bind_key_in_map('\r', tui_accept, paste_map);
		rl_bind_key_in_map('\n', tui_accept, paste_map);
		rl_bind_keyseq_in_map("\033[200~", tui_paste, paste_map);
	}
}

static void
atexit_end(void)
{
	tui_end();
}

void
tui_start(const char *first_prompt)
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
	rl_getc_function = tui_getc;
	rl_initialize();
	/* A paste arrives whole (tui_paste); readline's own CR when it
	 * hands the terminal back comes only after an erase of ours. */
	rl_variable_bind("enable-bracketed-paste", "on");
	bind_keys();
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
	complete_init(&roster);
	rl_callback_handler_install(first_prompt, on_line);
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
		return TUI_EOF;
	if (pasted != NULL) {
		*line = pasted;
		pasted = NULL;
		return TUI_PASTE;
	}
	if (entered != NULL) {
		*line = entered;
		entered = NULL;
		return TUI_LINE;
	}
	return TUI_NONE;
}

enum tui_intr
tui_interrupt(void)
{
	if (!editing())
		return TUI_INTR_EMPTY;
	/* Out of a search or a half key sequence first. */
	rl_callback_sigcleanup();
	if (pasting) {
		paste_end(false);
		return TUI_INTR_PASTE;
	}
	if (rl_end == 0)
		return TUI_INTR_EMPTY;
	add_history(rl_line_buffer);
	using_history(); /* Up starts from the newest: this draft */
	rl_free_line_state();
	set_line("", 0);
	rl_redisplay();
	fflush(rl_outstream);
	return TUI_INTR_CLEARED;
}

bool
tui_event(const struct chat_server_evt *ev)
{
	/* A replayed line is old news: no bell. */
	if (bell && active && !ev->history &&
	    display_mentions(roster.self, ev)) {
		fputc('\a', stdout);
		fflush(stdout);
	}
	return complete_event(&roster, ev);
}

void
tui_who_asked(void)
{
	complete_who_asked(&roster);
}

void
tui_set_bell(bool on)
{
	bell = on;
}

/*
 * Keep a copy of a printed line for repaints. A long line is cut on a
 * character boundary and before any SGR sequence the cut would split
 * (only ours contain ESC: server bytes come escaped), then reset.
 */
static char *
clip(const char *s, size_t n)
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
		return NULL;
	memcpy(copy, s, n);
	memcpy(copy + n, cut ? reset : "", cut ? sizeof(reset) : 1);
	return copy;
}

static void
keep(const char *s, size_t n)
{
	char *copy = clip(s, n);

	if (copy == NULL)
		return; /* a repaint shows one line fewer */
	free(kept[kept_next]);
	kept[kept_next] = copy;
	kept_next = (kept_next + 1) % KEEP_LINES;
}

static void
forget_pending(void)
{
	for (size_t i = 0; i < npending; i++) {
		free(pending[i]);
		pending[i] = NULL;
	}
	npending = 0;
}

static void
forget(void)
{
	for (size_t i = 0; i < KEEP_LINES; i++) {
		free(kept[i]);
		kept[i] = NULL;
	}
	kept_next = 0;
	forget_pending();
}

void
tui_set_pending(const char *const *lines, const size_t *lens, size_t n)
{
	if (editing())
		erase();
	forget_pending();
	for (size_t i = 0; i < n && npending < TUI_PENDING_MAX; i++)
		if ((pending[npending] = clip(lines[i], lens[i])) != NULL)
			npending++;
	if (editing())
		draw();
}

void
tui_print(const char *s, size_t n)
{
	if (!editing()) {
		put_rows(stdout, s, n, INT_MAX);
		fflush(stdout);
		return;
	}
	keep(s, n);
	erase();
	put_rows(rl_outstream, s, n, INT_MAX);
	draw();
}

void
tui_set_prompt(const char *p)
{
	char *copy = strdup(p);

	if (copy != NULL) {
		free(prompt);
		prompt = copy;
	}
	/* While a paste asks, its question stays; paste_end sets this. */
	if (!editing() || pasting)
		return;
	rl_set_prompt(p);
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
		put_rows(rl_outstream, kept[i], strlen(kept[i]), INT_MAX);
	}
	pending_rows = 0; /* the screen was cleared */
	draw_pending();
	rl_on_new_line();
	rl_forced_update_display();
	fflush(rl_outstream);
}

void
tui_suspend(void)
{
	if (!editing())
		return;
	erase();
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
	draw_pending();
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
	if (pasting) {
		rl_set_keymap(paste_prev);
		pasting = false;
	}
	if (!eof) { /* at EOF on_line has done this */
		rl_callback_sigcleanup();
		erase();
		fflush(rl_outstream);
		rl_callback_handler_remove(); /* restores the terminal */
	}
	if (saved_ok)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	free(entered);
	entered = NULL;
	free(pasted);
	pasted = NULL;
	free(paste_text);
	paste_text = NULL;
	free(paste_draft);
	paste_draft = NULL;
	free(prompt);
	prompt = NULL;
	clear_history();
	forget();
}
