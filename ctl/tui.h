/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The terminal side of chatctl talk: a line editor with history (GNU
 * readline, callback interface, so the caller's poll loop stays in charge)
 * and a way to print incoming lines above the line being typed without
 * garbling it.
 *
 * Signals stay with the caller (signalfd): readline is told to catch none,
 * and the caller calls tui_resize, tui_suspend/tui_resume, tui_interrupt
 * (SIGINT) and tui_end. Keys: Tab completes (complete.h), Ctrl-C clears
 * the line, a paste of more than TUI_PASTE_ASK lines waits for Enter.
 */
#ifndef CHATCTL_TUI_H
#define CHATCTL_TUI_H

#include <stdbool.h>
#include <stddef.h>

#include "chatproto.h"

/* What tui_input returns. */
enum {
	TUI_EOF = -1, /* Ctrl-D on an empty line, or the terminal went away */
	TUI_NONE = 0, /* nothing yet */
	TUI_LINE = 1, /* typed line(s): a pasted line break or Ctrl-V Ctrl-J
		       * separates lines with LF */
	TUI_PASTE = 2 /* a paste of more than TUI_PASTE_ASK lines the user
		       * confirmed with Enter: the lines in order, separated by
		       * LF, none at the end; send each as if typed */
};

/* A paste of more lines than this waits for Enter (Ctrl-C drops it). */
#define TUI_PASTE_ASK 3

/* Take over the terminal (stdin and stdout must be one) and show prompt. */
void tui_start(const char *prompt);
/*
 * Give the editor what stdin has (call when poll says it is readable).
 * Returns TUI_LINE or TUI_PASTE with the text in *line (malloc'd, the
 * caller frees it), TUI_EOF or TUI_NONE (*line NULL).
 */
int tui_input(char **line);

/* What Ctrl-C did (SIGINT, from the caller's signalfd): tui_interrupt. */
enum tui_intr {
	TUI_INTR_CLEARED, /* the draft went into the history, line cleared */
	TUI_INTR_EMPTY, /* nothing typed: the caller says how to leave */
	TUI_INTR_PASTE /* the paste waiting for Enter was dropped */
};
enum tui_intr tui_interrupt(void);

/*
 * Follow a server event, for Tab's nick list (complete.h) and the bell.
 * Returns whether to show it: false for the answer to a WHO that the
 * caller sent by itself and announced with tui_who_asked.
 */
bool tui_event(const struct chat_server_evt *ev);
void tui_who_asked(void);
/* --bell: a BEL whenever someone else's message names us. */
void tui_set_bell(bool on);

/*
 * The pending area: display lines (as for tui_print) drawn between the
 * lines printed and the input line, redrawn with it, replaced by each
 * call; n = 0 clears it. Lines are copied (each cut as tui_print's
 * repaint copy, at most TUI_PENDING_MAX of them); at most half the
 * window's rows are drawn.
 */
#define TUI_PENDING_MAX 64
void tui_set_pending(const char *const *lines, const size_t *lens, size_t n);

/* Print a line (no LF) above the input line, cut into rows at the
 * terminal's width (wrap.h), continuation rows indented to the text
 * (display_text_col), then redraw the pending area and the input. */
void tui_print(const char *s, size_t n);
void tui_set_prompt(const char *prompt);
/* The window changed size (SIGWINCH). */
void tui_resize(void);
/* Give the terminal back before stopping (SIGTSTP); take it again after. */
void tui_suspend(void);
void tui_resume(void);
/* Erase the input line and restore the terminal; safe to call twice. */
void tui_end(void);
bool tui_active(void);

#endif
