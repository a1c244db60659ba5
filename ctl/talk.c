/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl talk: one poll loop over the socket, stdin and a signalfd, so
 * typing never blocks receiving and no signal handler ever runs.
 *
 * On a terminal (stdin and stdout both): the line editor of tui.c and
 * slash commands. Otherwise (pipes, scripts): every stdin line is a
 * MSG, every event one plain line on stdout; at stdin EOF we wait until
 * the server has relayed our own messages back (so a script sees them
 * delivered), then QUIT, and exit 0 after BYE. Colours as --color says
 * (colormode.h): by default, when stdout is a terminal.
 *
 * The session rides through restarts: after BYE restart, BYE shutdown or
 * a connection lost without BYE, talk keeps the screen and the line being
 * typed and reconnects (backoff.h) with the same nick and room, asking
 * for the lines after the last one it showed (CHAT/1 ids, since=), and
 * shows each of those once (lines with an id not above the last shown
 * are skipped). It gives up after BACKOFF_LIMIT_SEC without a session.
 * A rejoin refused with ERR nick-taken (the old session, or a dead
 * cluster node's hold on the nick, not yet gone) or BYE is one more
 * failed attempt: the same nick again, never another.
 * Every line to send goes through the outbox (outbox.h): cut to the
 * server's max_line, paced under its rate, kept until the server echoes
 * it (shown meanwhile as pending: tui_set_pending) and sent again after
 * a reconnect unless the replay shows the server had it.
 *
 * Connecting never blocks the loop: link goes DOWN -> CONNECTING ->
 * GREETING -> UP, and back to DOWN when the connection is lost.
 */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "args.h"
#include "backoff.h"
#include "chatctl.h"
#include "colormode.h"
#include "conn.h"
#include "display.h"
#include "errmsg.h"
#include "grammar.h"
#include "net.h"
#include "outbox.h"
#include "slash.h"
#include "tui.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS 10000
#define GREET_TIMEOUT_MS 10000
/* Connecting or greeting for longer than this: say what we wait for. */
#define PROGRESS_MS 1000
/* After QUIT, how long to wait for BYE before leaving anyway. */
#define QUIT_TIMEOUT_MS 5000
/* Seconds of silence before a keepalive PING; CHATCTL_KEEPALIVE overrides
 * (0: never), for servers with a short [server] idle_timeout. */
#define KEEPALIVE_DEFAULT_SEC 60
/* At stdin EOF, how long to wait for our messages to come back. */
#define CONFIRM_TIMEOUT_MS 5000
/* Other nicks tried when the login name is taken: "bob2" ... "bob9". */
#define NICK_TRIES 9
/* History asked for on a terminal's first join (CHAT/1 last=). */
#define FIRST_LAST 20
/* A replay whose HIST END never comes: go on after this. */
#define HIST_TIMEOUT_MS 3000
/* Pending lines drawn at most (then "N more waiting"), bytes of each. */
#define PENDING_SHOWN 8
#define PENDING_CAP 1024
#define PENDING_TEXT 300

enum link { LINK_DOWN, LINK_CONNECTING, LINK_GREETING, LINK_UP };

struct talk {
	struct conn c;
	struct target target;
	bool tty;
	struct display d;
	int sigfd;
	sigset_t oldmask;
	struct outbox ob;

	/* The session and its greeting. */
	enum link link;
	bool ever_up; /* a greeting was accepted once: now failures reconnect */
	int64_t phase_start, phase_deadline; /* CONNECTING, GREETING */
	bool progress_shown;
	char greeting[CHAT_GREETING_LEN + 2 * (CHAT_NAME_MAX + 1) + 64];
	int greetlen;
	bool greet_opts; /* the greeting carried options */
	bool old_server; /* it refused them: greet plainly from now on */
	char base_nick[CHAT_NAME_MAX + 1]; /* as asked (-n or the login) */
	char nick[CHAT_NAME_MAX + 1]; /* to greet with */
	char room[CHAT_NAME_MAX + 1]; /* to greet with; "" default */
	bool chosen; /* -n given */
	int suffix; /* next "nickN" to try */
	bool held_said; /* this outage: "nick ... is still held" was shown */
	int64_t last_id; /* the highest id shown */
	bool asked_since, replaying;
	bool await_info; /* greeted with options: INFO should come first */
	int64_t replay_deadline;

	/* Reconnecting. */
	unsigned attempt;
	int64_t outage_start; /* ms, monotonic; 0: none */
	int64_t up_since; /* ms, monotonic, of the last OK; 0: down */
	int64_t next_try; /* usec, monotonic; -1: none */
	int64_t limit_ms;
	char why[512]; /* why the last session or attempt ended */

	/* Non-terminal mode: stdin as lines. */
	struct linebuf in;
	char *instore;
	bool stdin_eof;
	int64_t confirm_deadline; /* 0 until stdin is done and all sent */

	/* echod ends a chat after [server] idle_timeout (default 300 s) with
	 * no byte from the client; someone who only reads must not be cut
	 * off, so a quiet session sends PING now and then. */
	int64_t next_keepalive;
	int64_t send_wake; /* when the outbox may send again; -1: never */

	bool quitting;
	int64_t quit_deadline;
	bool done;
	int status;

	char *disp; /* DISP_CAP */
	char *clean; /* UTF8_SANITIZE_MAX(CONN_INPUT_MAX) + 1 */
	char *wire; /* CONN_SEND_MAX */
	char *pend; /* (PENDING_SHOWN + 1) * PENDING_CAP */
};

#define DISP_CAP (DISPLAY_MAX(CONN_LINE_MAX) + 1)
#define CLEAN_CAP (UTF8_SANITIZE_MAX(CONN_INPUT_MAX) + 1)

static int64_t
mono_ms(void)
{
	return now_mono_usec() / 1000;
}

/* Show a line: above the input on a terminal, else one line on stdout. */
static void
show(struct talk *t, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (t->tty) {
		tui_print(s, n);
	} else {
		fwrite(s, 1, n, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
}

static void
note(struct talk *t, const char *text)
{
	show(t, t->disp,
	    display_note(&t->d, text, now_real_msec(), t->disp, DISP_CAP));
}

/* About the connection: a note on a terminal; on stderr in a pipe, so
 * that a script's stdout holds only the chat. */
static void progress(struct talk *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
progress(struct talk *t, const char *fmt, ...)
{
	char text[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (t->tty)
		note(t, text);
	else
		errmsg("%s", text);
}

/* End with an error: terminal first, so the message is not garbled. */
static void fail(struct talk *t, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct talk *t, int status, const char *fmt, ...)
{
	va_list ap;

	tui_end();
	va_start(ap, fmt);
	errmsg_v(fmt, ap);
	va_end(ap);
	t->done = true;
	t->status = status;
}

static void
set_prompt(struct talk *t)
{
	char prompt[2 * TERM_ESCAPE_MAX(CHAT_NAME_MAX) + 8];
	char nick[TERM_ESCAPE_MAX(CHAT_NAME_MAX) + 1];
	char room[TERM_ESCAPE_MAX(CHAT_NAME_MAX) + 1];

	term_escape((const unsigned char *)t->c.nick, strlen(t->c.nick), nick,
	    sizeof(nick));
	term_escape((const unsigned char *)t->c.room, strlen(t->c.room), room,
	    sizeof(room));
	snprintf(prompt, sizeof(prompt), "%s@%s> ", nick, room);
	tui_set_prompt(prompt);
}

/* Our MSG/ME lines not yet echoed, drawn as pending (terminal only). */
static void
update_pending(struct talk *t)
{
	const char *lines[PENDING_SHOWN + 1];
	size_t lens[PENDING_SHOWN + 1], n = 0, more = 0, len;
	const struct outbox_entry *e;

	if (!t->tty)
		return;
	for (size_t i = 0; i < outbox_count(&t->ob); i++) {
		e = outbox_at(&t->ob, i);
		if (e->kind == OUTBOX_OTHER)
			continue;
		if (n == PENDING_SHOWN) {
			more++;
			continue;
		}
		len = e->len > PENDING_TEXT ?
		    utf8_trim_partial((const unsigned char *)e->text,
			PENDING_TEXT) :
		    e->len;
		lines[n] = t->pend + n * PENDING_CAP;
		lens[n] = display_pending(&t->d, e->kind == OUTBOX_ME, e->text,
		    len, t->pend + n * PENDING_CAP, PENDING_CAP);
		n++;
	}
	if (more > 0) {
		char text[64];

		snprintf(text, sizeof(text), "and %zu more waiting to be sent",
		    more);
		lines[n] = t->pend + n * PENDING_CAP;
		lens[n] = display_note(&t->d, text, now_real_msec(),
		    t->pend + n * PENDING_CAP, PENDING_CAP);
		n++;
	}
	tui_set_pending(lines, lens, n);
}

/* On a terminal, after each OK: the room's members, for Tab (not shown). */
static void
ask_who(struct talk *t)
{
	char buf[16];
	int n = chat_fmt_cmd_who(buf, sizeof(buf));

	if (t->tty && n > 0 && conn_queue(&t->c, buf, (size_t)n) == 0)
		tui_who_asked();
}

static bool
is_self(const struct talk *t, const struct chat_str *nick)
{
	return strlen(t->c.nick) == nick->n &&
	    memcmp(t->c.nick, nick->p, nick->n) == 0;
}

static void
copy_name(char *dst, const struct chat_str *s)
{
	size_t n = s->n > CHAT_NAME_MAX ? CHAT_NAME_MAX : s->n;

	memcpy(dst, s->p, n);
	dst[n] = '\0';
}

static int64_t
keepalive_usec(void)
{
	const char *e = getenv("CHATCTL_KEEPALIVE");
	char *end;
	long v;

	if (e == NULL || *e == '\0')
		return KEEPALIVE_DEFAULT_SEC * 1000000LL;
	v = strtol(e, &end, 10);
	if (*end != '\0' || v < 0 || v > 86400)
		return KEEPALIVE_DEFAULT_SEC * 1000000LL;
	return v * 1000000LL;
}

/* The give-up limit: BACKOFF_LIMIT_SEC, or CHATCTL_RECONNECT_LIMIT
 * seconds (0: never give up). */
static int64_t
limit_ms(void)
{
	const char *e = getenv("CHATCTL_RECONNECT_LIMIT");
	char *end;
	long v;

	if (e == NULL || *e == '\0')
		return BACKOFF_LIMIT_SEC * 1000LL;
	v = strtol(e, &end, 10);
	if (*end != '\0' || v < 0 || v > 7 * 86400)
		return BACKOFF_LIMIT_SEC * 1000LL;
	return v * 1000LL;
}

/* Every queued line pushes the keepalive back. */
static void
sent_something(struct talk *t)
{
	int64_t every = keepalive_usec();

	t->next_keepalive = every == 0 ? -1 : now_mono_usec() + every;
}

static void
keepalive(struct talk *t)
{
	char buf[64];
	int n = chat_fmt_cmd_ping(buf, sizeof(buf), "keepalive");

	/* The PONG is not shown (display.c); a full queue skips a beat. */
	if (n > 0)
		(void)conn_queue(&t->c, buf, (size_t)n);
	sent_something(t);
}

/* ---- connecting, greeting, reconnecting ---- */

static void
greet_send(struct talk *t)
{
	char opts[64];
	bool want_last;

	/* Options go with the room's name or "*", the default room. */
	t->greet_opts = !t->old_server;
	t->asked_since = t->greet_opts && t->last_id > 0;
	/* last=: a terminal's first join, or a rejoin with no id to ask
	 * since (nothing was said in the room while we were in it). */
	want_last = t->greet_opts && !t->asked_since && (t->tty || t->ever_up);
	if (t->asked_since)
		snprintf(opts, sizeof(opts), "ids since=%lld",
		    (long long)t->last_id);
	else if (want_last)
		snprintf(opts, sizeof(opts), "ids last=%d", FIRST_LAST);
	else
		snprintf(opts, sizeof(opts), "ids");
	t->replaying = t->asked_since || want_last;
	t->greetlen = t->greet_opts ?
	    chat_fmt_greeting_opts(t->greeting, sizeof(t->greeting), t->nick,
		t->room, opts) :
	    chat_fmt_greeting(t->greeting, sizeof(t->greeting), t->nick,
		t->room[0] ? t->room : NULL);
	if (t->greetlen < 0 ||
	    conn_queue(&t->c, t->greeting, (size_t)t->greetlen) == -1) {
		fail(t, EXIT_FAIL, "cannot greet as \"%s\"", t->nick);
		return;
	}
	t->link = LINK_GREETING;
	t->phase_deadline = now_mono_usec() + GREET_TIMEOUT_MS * 1000LL;
}

static void link_lost(struct talk *t, const char *why);

/* A random number for the backoff's jitter; any will do if the kernel
 * has none to give at once. */
static uint32_t
jitter(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)getpid() * 2654435761u ^ (uint32_t)now_mono_usec();
	return r;
}

/* An attempt failed: the end at the first connect, else try again. */
static void
attempt_failed(struct talk *t, int status, const char *why)
{
	if (!t->ever_up) {
		conn_reset(&t->c);
		t->link = LINK_DOWN;
		fail(t, status, "%s", why);
		return;
	}
	link_lost(t, why);
}

static void
link_start(struct talk *t)
{
	char err[512];

	t->next_try = -1;
	t->progress_shown = false;
	t->phase_start = now_mono_usec();
	if (t->ever_up)
		progress(t, "reconnecting to %s (attempt %u)...", t->c.label,
		    t->attempt);
	if (conn_dial(&t->c, &t->target, err, sizeof(err)) == -1) {
		attempt_failed(t, net_exit_status(errno), err);
		return;
	}
	t->link = LINK_CONNECTING;
	t->phase_deadline = t->phase_start + CONNECT_TIMEOUT_MS * 1000LL;
}

static void
link_connected(struct talk *t, bool timed_out)
{
	char err[512];
	int r = conn_dial_step(&t->c, &t->target, timed_out, err, sizeof(err));

	if (r == 0) { /* the next address */
		t->phase_deadline =
		    now_mono_usec() + CONNECT_TIMEOUT_MS * 1000LL;
		return;
	}
	if (r == -1) {
		int e = errno;

		if (timed_out && e == ETIMEDOUT)
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
			    " (no answer to the TCP connect in %d s)",
			    CONNECT_TIMEOUT_MS / 1000);
		attempt_failed(t, net_exit_status(e), err);
		return;
	}
	greet_send(t);
}

/*
 * The session ended against our will (BYE restart or shutdown, EOF,
 * a socket error, a failed rejoin): schedule the next attempt, or give up.
 */
static void
link_lost(struct talk *t, const char *why)
{
	int64_t now = mono_ms();
	bool was_up = t->link == LINK_UP;

	conn_reset(&t->c);
	t->link = LINK_DOWN;
	t->replaying = false;
	t->confirm_deadline = 0;
	snprintf(t->why, sizeof(t->why), "%s", why);
	if (t->quitting) {
		t->done = true; /* gone while we were leaving: still our end */
		return;
	}
	/* A session that lasted starts a new outage; one that failed at
	 * once (a flapping server) goes on with the old one's count. */
	if (t->outage_start == 0 ||
	    (t->up_since != 0 && now - t->up_since >= BACKOFF_STABLE_MSEC)) {
		t->outage_start = now;
		t->attempt = 0;
	}
	t->up_since = 0;
	if (was_up)
		progress(t, "%s", why);
	if (backoff_give_up(t->outage_start, now, t->limit_ms)) {
		fail(t, EXIT_FAIL,
		    "%s: gave up reconnecting after %lld s (last: %s)",
		    t->c.label, (long long)(t->limit_ms / 1000), why);
		return;
	}
	t->attempt++;
	t->next_try = now_mono_usec() +
	    backoff_delay_ms(t->attempt, jitter()) * 1000;
}

/* The greeting was accepted. */
static void
link_up(struct talk *t, const struct chat_server_evt *ev)
{
	bool first = !t->ever_up;

	t->link = LINK_UP;
	t->ever_up = true;
	t->up_since = mono_ms();
	t->held_said = false;
	snprintf(t->nick, sizeof(t->nick), "%s", t->c.nick);
	snprintf(t->room, sizeof(t->room), "%s", t->c.room);
	t->d.self = t->c.nick;
	t->d.room = t->c.room;
	if (first && t->tty)
		tui_start("> ");
	if (t->tty) {
		set_prompt(t);
		tui_event(ev);
	}
	show(t, t->disp,
	    display_event(&t->d, ev, now_real_msec(), t->disp, DISP_CAP));
	ask_who(t);
	t->await_info = t->greet_opts;
	if (t->replaying) {
		t->replay_deadline = now_mono_usec() + HIST_TIMEOUT_MS * 1000LL;
	} else {
		/* No replay to learn from: the unconfirmed go again. */
		outbox_unsend(&t->ob);
	}
	sent_something(t);
	update_pending(t);
}

/* The replay is over (HIST END, or it never came). */
static void
replay_done(struct talk *t, bool gap)
{
	t->replaying = false;
	if (gap && t->asked_since)
		note(t,
		    "some lines may be missing: the server's history does "
		    "not reach back to the last line shown");
	outbox_unsend(&t->ob);
	update_pending(t);
}

static void
next_nick(struct talk *t)
{
	/* Keep the suffix within CHAT_NAME_MAX. */
	snprintf(t->nick, sizeof(t->nick), "%.*s%c", CHAT_NAME_MAX - 1,
	    t->base_nick, (char)('0' + t->suffix % 10));
	t->suffix++;
}

static void
on_nick_taken(struct talk *t)
{
	char why[512];

	if (backoff_retry_refusal(t->ever_up, BACKOFF_NICK_TAKEN)) {
		/* Our old session, or a dead node's hold on it in Redis, not
		 * yet gone: the same nick again, as for a lost connection. */
		if (!t->held_said)
			progress(t, "nick %s is still held (by a session that "
			    "is going away?); retrying", t->nick);
		t->held_said = true;
		snprintf(why, sizeof(why),
		    "%s: the nick \"%s\" is still held", t->c.label, t->nick);
		link_lost(t, why);
		return;
	}
	if ((t->chosen && !t->ever_up) || t->suffix > NICK_TRIES) {
		fail(t, EXIT_FAIL,
		    "%s: the nick \"%s\" is taken; choose another with -n",
		    t->c.label, t->nick);
		return;
	}
	next_nick(t);
	greet_send(t);
}

static void
on_greet_line(struct talk *t, const char *line, size_t len)
{
	struct chat_server_evt ev;
	char err[512];

	switch (conn_greet_answer(&t->c, t->greeting, (size_t)t->greetlen, line,
	    len, &ev, err, sizeof(err))) {
	case GREET_OK:
		link_up(t, &ev);
		break;
	case GREET_NICK_TAKEN:
		on_nick_taken(t);
		break;
	case GREET_BAD_GREETING:
		if (t->greet_opts) {
			/* An older server: no options, no ids. */
			t->old_server = true;
			t->replaying = false;
			greet_send(t);
			break;
		}
		fail(t, EXIT_FAIL, "%s", err);
		break;
	case GREET_FAILED:
		/* At a rejoin only a server gone away again is worth a retry
		 * (BYE restart: a cluster node without Redis, say). */
		if (backoff_retry_refusal(t->ever_up, ev.type == CHAT_EVT_BYE ?
			BACKOFF_BYE : BACKOFF_OTHER))
			link_lost(t, err);
		else
			fail(t, EXIT_FAIL, "%s", err);
		break;
	case GREET_MORE:
		break;
	}
}

/* ---- the session ---- */

/* The server's INFO: its limits, for the outbox. */
static void
on_info(struct talk *t, const struct chat_server_evt *ev)
{
	struct outbox_limits l = { -1, -1, -1, -1, -1 };
	int64_t id;

	if (!chat_info_get(ev, "max_line", &l.max_line))
		l.max_line = -1;
	if (!chat_info_get(ev, "rate_lines", &l.rate_lines))
		l.rate_lines = -1;
	if (!chat_info_get(ev, "rate_bytes", &l.rate_bytes))
		l.rate_bytes = -1;
	if (!chat_info_get(ev, "rate_burst_lines", &l.burst_lines))
		l.burst_lines = -1;
	if (!chat_info_get(ev, "rate_burst_bytes", &l.burst_bytes))
		l.burst_bytes = -1;
	outbox_set_limits(&t->ob, &l);
	/* The newest id at our join: a rejoin asks since= it. */
	if (chat_info_get(ev, "id", &id) && id > t->last_id)
		t->last_id = id;
}

/* An ERR that refused one of our MSG/ME lines (not a NICK or JOIN). */
static bool
refuses_a_message(const struct talk *t, const struct chat_server_evt *ev)
{
	if (!t->tty)
		return true; /* in a pipe we only send MSG */
	return ev->err == CHAT_ERR_LINE_TOO_LONG ||
	    ev->err == CHAT_ERR_BAD_UTF8 || ev->err == CHAT_ERR_BAD_SYNTAX ||
	    ev->err == CHAT_ERR_UNKNOWN_COMMAND;
}

static bool
bye_is(const struct chat_server_evt *ev, const char *reason)
{
	return ev->text.n == strlen(reason) &&
	    memcmp(ev->text.p, reason, ev->text.n) == 0;
}

static void
on_bye(struct talk *t, const struct chat_server_evt *ev)
{
	char why[600];

	/* restart and shutdown: the server is coming back (or another
	 * takes its place): ride through it. */
	if (!t->quitting && (bye_is(ev, "restart") || bye_is(ev, "shutdown"))) {
		snprintf(why, sizeof(why),
		    "%s: the server closed the "
		    "connection (%.*s)",
		    t->c.label, (int)ev->text.n, ev->text.p);
		link_lost(t, why);
		return;
	}
	/* BYE quit after our QUIT is the clean end; any other BYE (slow,
	 * idle, too-many-errors) ended the chat against our will. */
	t->done = true;
	t->status = t->quitting && bye_is(ev, "quit") ? EXIT_OK : EXIT_FAIL;
}

static void
on_server_line(struct talk *t, const char *line, size_t len)
{
	struct chat_server_evt ev;
	int64_t now = now_real_msec();
	size_t n;

	if (chat_parse_server(line, len, &ev) != 0) {
		show(t, t->disp,
		    display_unknown(&t->d, line, len, now, t->disp, DISP_CAP));
		return;
	}
	/* A server that took our options but sends no INFO has no ids:
	 * no replay is coming either. */
	if (t->await_info) {
		t->await_info = false;
		if (ev.type != CHAT_EVT_INFO && t->replaying)
			replay_done(t, false);
	}
	/* A live room line we have shown already (a server repeating
	 * itself): once is enough. Replayed lines may be older than what we
	 * saw (the history of a room we /join), and since= asked only for
	 * newer ones. */
	if (ev.id != 0) {
		if (ev.id <= t->last_id && !ev.history)
			return;
		if (ev.id > t->last_id)
			t->last_id = ev.id;
	}
	switch (ev.type) {
	case CHAT_EVT_OK:
		/* Our NICK or JOIN was accepted: the prompt follows. */
		copy_name(t->c.nick, &ev.nick);
		copy_name(t->c.room, &ev.room);
		snprintf(t->nick, sizeof(t->nick), "%s", t->c.nick);
		snprintf(t->room, sizeof(t->room), "%s", t->c.room);
		set_prompt(t);
		ask_who(t);
		break;
	case CHAT_EVT_INFO:
		on_info(t, &ev);
		return;
	case CHAT_EVT_HIST_END:
		if (t->replaying)
			replay_done(t, ev.gap);
		return;
	case CHAT_EVT_MSG:
	case CHAT_EVT_ME:
		if (is_self(t, &ev.nick) &&
		    outbox_confirm(&t->ob,
			ev.type == CHAT_EVT_MSG ? OUTBOX_MSG : OUTBOX_ME,
			ev.text.p, ev.text.n))
			update_pending(t);
		break;
	case CHAT_EVT_ERR:
		if (refuses_a_message(t, &ev) && outbox_refused(&t->ob))
			update_pending(t);
		break;
	case CHAT_EVT_BYE:
		/* restart and shutdown get link_lost's note instead. */
		if (t->quitting ||
		    !(bye_is(&ev, "restart") || bye_is(&ev, "shutdown")))
			show(t, t->disp,
			    display_event(&t->d, &ev, now, t->disp, DISP_CAP));
		on_bye(t, &ev);
		return;
	default:
		break;
	}
	/* On a terminal tui.c follows the room's members (for Tab) and may
	 * keep a line to itself (the answer to ask_who). */
	if (t->tty && !tui_event(&ev))
		return;
	if (ev.history)
		n = display_history(&t->d, &ev, now, t->disp, DISP_CAP);
	else if (ev.type == CHAT_EVT_PART)
		n = display_part(&t->d, &ev, now, t->disp, DISP_CAP);
	else
		n = display_event(&t->d, &ev, now, t->disp, DISP_CAP);
	show(t, t->disp, n);
}

static void
drain_server(struct talk *t)
{
	const char *line;
	size_t len;
	enum lb_status st;
	char why[300];

	while (!t->done && (t->link == LINK_GREETING || t->link == LINK_UP) &&
	    (st = conn_next(&t->c, &line, &len)) != LB_NONE) {
		if (st != LB_LINE)
			show(t, t->disp,
			    display_too_long(&t->d, CONN_LINE_MAX,
				now_real_msec(), t->disp, DISP_CAP));
		else if (t->link == LINK_GREETING)
			on_greet_line(t, line, len);
		else
			on_server_line(t, line, len);
	}
	if (!t->done && t->c.eof &&
	    (t->link == LINK_GREETING || t->link == LINK_UP)) {
		snprintf(why, sizeof(why),
		    "%s: connection closed by the server", t->c.label);
		attempt_failed(t, EXIT_FAIL, why);
	}
}

/* Hand the outbox's lines to the connection as the pace allows. */
static void
pump_outbox(struct talk *t)
{
	int64_t now = now_mono_usec();
	bool any = false;
	int n;

	t->send_wake = -1;
	if (t->link != LINK_UP || t->replaying || t->quitting)
		return;
	/* Bounded: each round takes one entry of the outbox. */
	while (conn_room(&t->c) >= CONN_SEND_MAX) {
		n = outbox_next(&t->ob, now, t->wire, CONN_SEND_MAX,
		    &t->send_wake);
		if (n <= 0)
			break;
		(void)conn_queue(&t->c, t->wire, (size_t)n);
		any = true;
	}
	if (any)
		sent_something(t);
}

static void
start_quit(struct talk *t, const char *reason)
{
	char buf[300];
	int n = chat_fmt_cmd_quit(buf, sizeof(buf), reason);

	if (t->quitting)
		return;
	t->quitting = true;
	t->quit_deadline = now_mono_usec() + QUIT_TIMEOUT_MS * 1000LL;
	tui_end();
	/* Not connected, or a queue full because the server stopped
	 * reading: leave without the courtesy. */
	if (t->link != LINK_UP || n < 0 ||
	    conn_queue(&t->c, buf, (size_t)n) == -1)
		t->done = true;
}

/* ---- what we send ---- */

static void
queue_line(struct talk *t, enum outbox_kind kind, const char *text, size_t len,
    bool typed)
{
	if (outbox_add(&t->ob, kind, text, len, typed) < 0) {
		note(t, "not sent: too much is waiting to be sent already");
		return;
	}
	pump_outbox(t);
	update_pending(t);
}

/* A line typed on the terminal: a message or a slash command. */
static void
on_typed_line(struct talk *t, const char *line, size_t len)
{
	struct slash s;
	size_t n;
	int w;

	if (len > CONN_INPUT_MAX) {
		note(t, "not sent: that line is too long");
		return;
	}
	n = input_clean(line, len, t->clean, CLEAN_CAP);
	switch (slash_parse(t->clean, n, &s)) {
	case SLASH_NONE:
		break;
	case SLASH_HELP: {
		const char *p = slash_help, *nl;

		for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			char one[128];

			snprintf(one, sizeof(one), "%.*s", (int)(nl - p), p);
			note(t, one);
		}
		note(t, p);
		break;
	}
	case SLASH_ERROR:
		note(t, s.error);
		break;
	case SLASH_QUIT: {
		char reason[256];

		snprintf(reason, sizeof(reason), "%.*s",
		    (int)utf8_trim_partial((const unsigned char *)s.arg,
			s.arglen < 255 ? s.arglen : 255),
		    s.arg);
		start_quit(t, reason);
		break;
	}
	case SLASH_MSG:
	case SLASH_ME:
		queue_line(t, s.kind == SLASH_MSG ? OUTBOX_MSG : OUTBOX_ME,
		    s.arg, s.arglen, true);
		break;
	default:
		w = slash_wire(&s, t->wire, CONN_SEND_MAX);
		if (w < 0)
			note(t, "not sent: cannot make a CHAT/1 line of that");
		else
			queue_line(t, OUTBOX_OTHER, t->wire, (size_t)w, true);
		break;
	}
}

static void
on_tty_input(struct talk *t)
{
	char *line = NULL;
	int r = tui_input(&line);
	char *p, *nl;

	if (r < 0) {
		start_quit(t, NULL); /* Ctrl-D */
		return;
	}
	if (r == 0)
		return;
	/* A line break typed literally (Ctrl-V Ctrl-J) makes two lines. */
	for (p = line; !t->quitting; p = nl + 1) {
		nl = strpbrk(p, "\r\n");
		on_typed_line(t, p, nl ? (size_t)(nl - p) : strlen(p));
		if (nl == NULL)
			break;
	}
	free(line);
}

/*
 * Pipe mode: every stdin line is a MSG, sent as is (cleaned), through
 * the outbox, connected or not. Returns whether every complete line was
 * taken (false: the outbox is full).
 */
static bool
drain_stdin(struct talk *t)
{
	const char *line;
	size_t len, n;
	enum lb_status st;
	bool any = false;

	while (!t->quitting) {
		if (!outbox_has_room(&t->ob, UTF8_SANITIZE_MAX(CONN_INPUT_MAX)))
			break;
		st = lb_next(&t->in, &line, &len);
		if (st == LB_NONE) {
			if (any)
				pump_outbox(t);
			return true;
		}
		if (st == LB_TOO_LONG) {
			errmsg("stdin: a line of more than %d bytes was not "
			       "sent",
			    CONN_INPUT_MAX);
			continue;
		}
		if (len == 0)
			continue; /* MSG needs text */
		n = input_clean(line, len, t->clean, CLEAN_CAP);
		if (outbox_add(&t->ob, OUTBOX_MSG, t->clean, n, false) > 0)
			any = true;
	}
	if (any)
		pump_outbox(t);
	return false;
}

/*
 * Pipe mode after stdin EOF, every line taken: QUIT once the server has
 * relayed our messages back (or CONFIRM_TIMEOUT_MS after the last was
 * sent), so that a script's output shows them delivered.
 */
static void
maybe_quit_at_eof(struct talk *t)
{
	int64_t now = now_mono_usec();

	/* Disconnected with nothing left to deliver: no need to wait. */
	if (t->link != LINK_UP && outbox_count(&t->ob) == 0) {
		start_quit(t, NULL);
		return;
	}
	if (t->link != LINK_UP || t->replaying)
		return;
	if (outbox_count(&t->ob) == 0) {
		start_quit(t, NULL);
		return;
	}
	if (outbox_unsent(&t->ob))
		return;
	if (t->confirm_deadline == 0)
		t->confirm_deadline = now + CONFIRM_TIMEOUT_MS * 1000LL;
	if (now >= t->confirm_deadline)
		start_quit(t, NULL);
}

static void
read_stdin(struct talk *t)
{
	size_t avail;
	char *p = lb_space(&t->in, &avail);
	ssize_t r;

	do
		r = read(STDIN_FILENO, p, avail);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		return;
	if (r <= 0) {
		/* EOF (or an error, which ends input just the same); a last
		 * line without LF is a line too. */
		t->stdin_eof = true;
		if (lb_pending(&t->in) > 0)
			lb_append(&t->in, "\n", 1);
		return;
	}
	lb_commit(&t->in, (size_t)r);
}

static void
on_signal(struct talk *t)
{
	struct signalfd_siginfo si;

	while (read(t->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGWINCH:
			tui_resize();
			break;
		case SIGTSTP:
			/* Stop as the shell expects, terminal handed back. */
			tui_suspend();
			kill(getpid(), SIGSTOP);
			break;
		case SIGCONT:
			tui_resume();
			break;
		case SIGINT:
			/* Ctrl-C on a terminal clears the line (tui.h). */
			if (t->tty && !t->quitting) {
				if (tui_interrupt() == TUI_INTR_EMPTY)
					note(t,
					    "to leave, type /quit or press "
					    "Ctrl-D");
				break;
			}
			/* FALLTHROUGH */
		default: /* INT, TERM, HUP, QUIT: leave, cleanly if we can */
			if (t->quitting)
				t->done = true; /* asked twice: now */
			else
				start_quit(t, NULL);
			break;
		}
	}
}

/* ---- the loop ---- */

static int64_t
earliest(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* Milliseconds until wake (-1: no wake-up), for poll. */
static int
poll_timeout(int64_t wake, int64_t now)
{
	if (wake < 0)
		return -1;
	if (wake <= now)
		return 0;
	return (int)((wake - now + 999) / 1000);
}

static int64_t
next_wake(const struct talk *t)
{
	int64_t wake = -1;

	if (t->quitting)
		return t->quit_deadline;
	if (t->confirm_deadline != 0)
		wake = t->confirm_deadline;
	if (t->link == LINK_UP) {
		wake = earliest(wake, t->next_keepalive);
		wake = earliest(wake, t->send_wake);
		if (t->replaying)
			wake = earliest(wake, t->replay_deadline);
	}
	if (t->link == LINK_DOWN)
		wake = earliest(wake, t->next_try);
	if (t->link == LINK_CONNECTING || t->link == LINK_GREETING) {
		wake = earliest(wake, t->phase_deadline);
		if (!t->progress_shown)
			wake = earliest(wake,
			    t->phase_start + PROGRESS_MS * 1000LL);
	}
	return wake;
}

/* Deadlines and timers after poll. */
static void
timers(struct talk *t)
{
	int64_t now = now_mono_usec();
	char why[600];

	if (t->quitting) {
		if (now >= t->quit_deadline)
			t->done = true; /* no BYE in time: leave anyway */
		return;
	}
	if ((t->link == LINK_CONNECTING || t->link == LINK_GREETING) &&
	    !t->progress_shown &&
	    now >= t->phase_start + PROGRESS_MS * 1000LL) {
		t->progress_shown = true;
		if (!t->ever_up)
			progress(t, "connecting to %s...", t->c.label);
	}
	if (t->link == LINK_CONNECTING && now >= t->phase_deadline)
		link_connected(t, true);
	else if (t->link == LINK_GREETING && now >= t->phase_deadline) {
		snprintf(why, sizeof(why),
		    "%s: no answer to the greeting in %d s (connected; "
		    "waited for OK)",
		    t->c.label, GREET_TIMEOUT_MS / 1000);
		attempt_failed(t, EXIT_FAIL, why);
	} else if (t->link == LINK_DOWN && t->next_try >= 0 &&
	    now >= t->next_try)
		link_start(t);
	if (t->link == LINK_UP && t->replaying && now >= t->replay_deadline)
		replay_done(t, false);
	if (t->link == LINK_UP && t->next_keepalive >= 0 &&
	    now >= t->next_keepalive)
		keepalive(t);
}

static void
on_socket(struct talk *t, short revents)
{
	char err[512];

	if (t->link == LINK_CONNECTING) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			link_connected(t, false);
		return;
	}
	if (revents & POLLOUT && conn_flush(&t->c, err, sizeof(err)) == -1) {
		attempt_failed(t, EXIT_FAIL, err);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR) &&
	    conn_fill(&t->c, err, sizeof(err)) == -1)
		attempt_failed(t, EXIT_FAIL, err);
}

static int
talk_loop(struct talk *t)
{
	char err[512];

	link_start(t);
	while (!t->done) {
		struct pollfd pfd[3];
		int64_t now;
		int nfd = 0, r, isock = -1, iin = -1;

		drain_server(t);
		pump_outbox(t);
		if (!t->tty && t->ever_up && drain_stdin(t) && t->stdin_eof &&
		    !t->quitting)
			maybe_quit_at_eof(t);
		if (t->done)
			break;
		if (t->link >= LINK_GREETING && conn_pending(&t->c) &&
		    conn_flush(&t->c, err, sizeof(err)) == -1) {
			attempt_failed(t, EXIT_FAIL, err);
			continue;
		}

		pfd[nfd++] =
		    (struct pollfd){ .fd = t->sigfd, .events = POLLIN };
		if (t->link != LINK_DOWN) {
			isock = nfd;
			pfd[nfd++] = (struct pollfd){ .fd = t->c.fd,
				.events = t->link == LINK_CONNECTING ? POLLOUT :
								       POLLIN |
					(conn_pending(&t->c) ? POLLOUT : 0) };
		}
		if (t->ever_up && !t->quitting && !t->stdin_eof &&
		    (t->tty ||
			outbox_has_room(&t->ob,
			    UTF8_SANITIZE_MAX(CONN_INPUT_MAX)))) {
			iin = nfd;
			pfd[nfd++] = (struct pollfd){ .fd = STDIN_FILENO,
				.events = POLLIN };
		}
		now = now_mono_usec();
		r = poll(pfd, (nfds_t)nfd, poll_timeout(next_wake(t), now));
		if (r < 0 && errno != EINTR) {
			fail(t, EXIT_FAIL, "poll: %s", strerror(errno));
			break;
		}
		if (r > 0 && pfd[0].revents & POLLIN)
			on_signal(t);
		if (r > 0 && isock >= 0 && pfd[isock].revents && !t->done)
			on_socket(t, pfd[isock].revents);
		if (r > 0 && iin >= 0 && !t->done &&
		    pfd[iin].revents &
			(POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
			if (t->tty)
				on_tty_input(t);
			else
				read_stdin(t);
		}
		if (!t->done)
			timers(t);
	}
	return t->status;
}

/* The login name, made into a valid nick ("j.doe", not "j doe"). */
static void
default_nick(char *nick, size_t cap)
{
	char login[LOGIN_NAME_MAX + 1];
	const char *name = NULL;
	struct passwd *pw;
	size_t n = 0;

	if (getlogin_r(login, sizeof(login)) == 0)
		name = login;
	else if ((pw = getpwuid(getuid())) != NULL)
		name = pw->pw_name;
	else
		name = getenv("LOGNAME");
	if (name == NULL || name[0] == '\0')
		name = "guest";
	for (; name[n] != '\0' && n < CHAT_NAME_MAX && n + 1 < cap; n++)
		nick[n] = chat_valid_name(&name[n], 1) ? name[n] : '_';
	nick[n] = '\0';
}

static int
setup_signals(struct talk *t)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGWINCH);
	if (t->tty) {
		sigaddset(&set, SIGTSTP);
		sigaddset(&set, SIGCONT);
	}
	if (sigprocmask(SIG_BLOCK, &set, &t->oldmask) == -1)
		return -1;
	t->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return t->sigfd == -1 ? -1 : 0;
}

static int
talk_run(struct talk *t)
{
	net_take_std_fds(); /* before the signalfd takes a free 0 */
	if (setup_signals(t) == -1) {
		errmsg("signalfd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (!t->tty)
		lb_init(&t->in, t->instore, LB_MIN_CAP(CONN_INPUT_MAX),
		    CONN_INPUT_MAX);
	t->limit_ms = limit_ms();
	t->next_try = -1;
	t->send_wake = -1;
	t->next_keepalive = -1;
	t->suffix = 2;
	return talk_loop(t);
}

int
cmd_talk(int argc, char **argv)
{
	struct talk t = { .sigfd = -1 };
	struct display_colors colors = { .n = 0 };
	const char *bell = getenv("CHATCTL_BELL");
	const char *room = NULL;
	enum colormode color = COLORMODE_AUTO;
	int c, status;

	default_nick(t.base_nick, sizeof(t.base_nick));
	while ((c = args_next("talk", argc, argv)) != -1) {
		switch (c) {
		case 'n':
			if (args_name("talk", 'n', "nick", optarg) != 0)
				return EXIT_USAGE;
			snprintf(t.base_nick, sizeof(t.base_nick), "%s",
			    optarg);
			t.chosen = true;
			break;
		case 'r':
			if (args_name("talk", 'r', "room", optarg) != 0)
				return EXIT_USAGE;
			room = optarg;
			break;
		case OPT_COLOR:
			if (colormode_parse(optarg, &color) == -1)
				return args_error("talk",
				    "--color: \"%.20s\" is "
				    "not auto, always or never",
				    optarg);
			break;
		case 'b':
			bell = "1";
			break;
		case 'h':
			return args_help("talk");
		default:
			return EXIT_USAGE;
		}
	}
	if (args_target("talk", argc, argv, &t.target) == -1)
		return EXIT_USAGE;
	snprintf(t.nick, sizeof(t.nick), "%s", t.base_nick);
	snprintf(t.room, sizeof(t.room), "%s", room ? room : "");

	/* Readline needs the locale's character set for UTF-8 input. */
	setlocale(LC_CTYPE, "");
	t.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	t.d.color = colormode_use(color, isatty(STDOUT_FILENO), getenv("TERM"),
	    getenv("NO_COLOR"));
	t.d.colors = &colors;
	t.d.highlight = t.tty || t.d.color; /* pipes: no "!" for scripts */
	tui_set_bell(bell != NULL && strcmp(bell, "1") == 0);
	t.disp = malloc(DISP_CAP);
	t.clean = malloc(CLEAN_CAP);
	t.wire = malloc(CONN_SEND_MAX);
	t.instore = malloc(LB_MIN_CAP(CONN_INPUT_MAX));
	t.pend = malloc((PENDING_SHOWN + 1) * PENDING_CAP);
	if (t.disp == NULL || t.clean == NULL || t.wire == NULL ||
	    t.instore == NULL || t.pend == NULL ||
	    conn_init(&t.c, t.target.label) == -1) {
		errmsg("out of memory");
		status = EXIT_FAIL;
	} else if (outbox_init(&t.ob) == -1) {
		errmsg("out of memory");
		conn_close(&t.c);
		status = EXIT_FAIL;
	} else {
		status = talk_run(&t);
		tui_end();
		conn_close(&t.c);
		outbox_free(&t.ob);
	}
	if (t.sigfd != -1) {
		close(t.sigfd);
		sigprocmask(SIG_SETMASK, &t.oldmask, NULL);
	}
	free(t.disp);
	free(t.clean);
	free(t.wire);
	free(t.instore);
	free(t.pend);
	return status;
}
