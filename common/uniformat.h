/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Code points a terminal draws as nothing, or that change how the text
 * around them is laid out: every Unicode format character (general
 * category Cf: zero-width space and joiners, word joiner, BOM, bidi
 * marks, embeddings, overrides and isolates, tag characters, the soft
 * hyphen...) and the LINE and PARAGRAPH SEPARATORs U+2028, U+2029 (Zl,
 * Zp). term_escape shows each as "<U+200B>". Pure, no state.
 */
#ifndef ECHOD_UNIFORMAT_H
#define ECHOD_UNIFORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Unicode version the table comes from ("14.0.0"). */
extern const char uniformat_unicode[];

/* Whether cp is Cf, Zl or Zp; false above U+10FFFF. */
bool uniformat_is(uint32_t cp);

#endif
