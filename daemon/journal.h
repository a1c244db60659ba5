/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The journal writer, in the control plane only: the one place where
 * echod's log records (logrec.h) meet journald, through libsystemd's
 * sd_journal_sendv(3), or stderr outside systemd (and with `echod -d`).
 *
 * A thread of its own reads the log channel and writes each record; it may
 * block on a journald that is behind, and then the channel fills and the
 * senders count what they drop (log.h): the poll loop, the engine and its
 * workers never wait for journald. Each entry carries MESSAGE_ID (from the
 * event's kind), PRIORITY, SYSLOG_IDENTIFIER=echod, ECHOD_ROLE, ECHOD_PID
 * (the sender, as the kernel saw it), CODE_FILE/LINE/FUNC, ERRNO when
 * there is one, and the record's own fields.
 */
#ifndef ECHOD_JOURNAL_H
#define ECHOD_JOURNAL_H

#include <stdbool.h>

struct logrec;

/* Choose the target: journald if stderr is the journal stream
 * ($JOURNAL_STREAM names it) and !force_stderr, else stderr. */
void journal_init(bool force_stderr);
/* Write one record now, from the calling thread: the log sink before
 * the writer runs (log_set_sink). pid is the sender's. */
void journal_write(const struct logrec *r, long pid);
/*
 * Start the writer thread on fd, the log channel's reading end; sendfd is
 * its sending end, for journal_stop (which exit() also runs, so that a
 * fatal error's last lines are written).
 */
int journal_start(int fd, int sendfd);
/*
 * Stop it: once what was sent before is written (or after a bounded wait
 * for a stuck journald). Records go to the sink again afterwards.
 */
void journal_stop(void);
/* Records lost so far (the senders' drops, as reported to us). */
unsigned long journal_lost(void);
/* The MESSAGE_ID of an event kind (enum log_ev), or NULL. */
const char *journal_msgid(unsigned ev);

#endif
