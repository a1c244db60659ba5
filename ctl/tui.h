/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The terminal side of chatctl talk: a line editor with history (GNU
 * readline, callback interface, so the caller's poll loop stays in charge)
 * and a way to print incoming lines above the line being typed without
 * garbling it.
 *
 * Signals stay with the caller (signalfd): readline is told to catch none,
 * and the caller calls tui_resize, tui_suspend/tui_resume and tui_end.
 */
#ifndef CHATCTL_TUI_H
#define CHATCTL_TUI_H

#include <stdbool.h>
#include <stddef.h>

/* Take over the terminal (stdin and stdout must be one) and show prompt. */
void tui_start(const char *prompt);
/*
 * Give the editor what stdin has (call when poll says it is readable).
 * Returns 1 with a typed line in *line (malloc'd, the caller frees it),
 * -1 at EOF (Ctrl-D on an empty line, or the terminal went away), else 0.
 */
int tui_input(char **line);
/* Print a line (no LF) above the input line, cut into rows at the
 * terminal's width (wrap.h), then redraw the input. */
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
