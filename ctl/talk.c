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
#include <sys/signalfd.h>
#include <unistd.h>

#include "args.h"
#include "chatctl.h"
#include "colormode.h"
#include "conn.h"
#include "display.h"
#include "errmsg.h"
#include "grammar.h"
#include "slash.h"
#include "tui.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS 10000
#define GREET_TIMEOUT_MS 10000
/* After QUIT, how long to wait for BYE before leaving anyway. */
#define QUIT_TIMEOUT_MS 5000
/* Seconds of silence before a keepalive PING; CHATCTL_KEEPALIVE overrides
 * (0: never), for servers with a short [server] idle_timeout. */
#define KEEPALIVE_DEFAULT_SEC 60
/* At stdin EOF, how long to wait for our messages to come back. */
#define CONFIRM_TIMEOUT_MS 5000
/* Other nicks tried when the login name is taken: "bob2" ... "bob9". */
#define NICK_TRIES 9

struct talk {
	struct conn c;
	bool tty;
	struct display d;
	int sigfd;
	sigset_t oldmask;

	/* Non-terminal mode: stdin as lines. */
	struct linebuf in;
	char *instore;
	bool stdin_eof;
	unsigned unconfirmed; /* our MSGs not yet relayed back to us */
	int64_t confirm_deadline; /* 0 until stdin is done */

	/* echod ends a chat after [server] idle_timeout (default 300 s) with
	 * no byte from the client; someone who only reads must not be cut
	 * off, so a quiet session sends PING now and then. */
	int64_t next_keepalive;

	bool quitting;
	int64_t quit_deadline;
	bool done;
	int status;

	char *disp; /* DISPLAY_MAX(CONN_LINE_MAX) + 1 */
	char *clean; /* UTF8_SANITIZE_MAX(CONN_INPUT_MAX) + 1 */
	char *wire; /* CONN_SEND_MAX */
};

#define DISP_CAP (DISPLAY_MAX(CONN_LINE_MAX) + 1)
#define CLEAN_CAP (UTF8_SANITIZE_MAX(CONN_INPUT_MAX) + 1)

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

/* End with an error: terminal first, so the message is not garbled. */
static void fail(struct talk *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct talk *t, const char *fmt, ...)
{
	va_list ap;

	tui_end();
	va_start(ap, fmt);
	errmsg_v(fmt, ap);
	va_end(ap);
	t->done = true;
	t->status = EXIT_FAIL;
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
	/* A queue full because the server stopped reading: leave without
	 * the courtesy. */
	if (n < 0 || conn_queue(&t->c, buf, (size_t)n) == -1)
		t->done = true;
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

static void
on_server_line(struct talk *t, const char *line, size_t len)
{
	struct chat_server_evt ev;
	int64_t now = now_real_msec();

	if (chat_parse_server(line, len, &ev) != 0) {
		show(t, t->disp,
		    display_unknown(&t->d, line, len, now, t->disp, DISP_CAP));
		return;
	}
	switch (ev.type) {
	case CHAT_EVT_OK:
		/* Our NICK or JOIN was accepted: the prompt follows. */
		copy_name(t->c.nick, &ev.nick);
		copy_name(t->c.room, &ev.room);
		set_prompt(t);
		ask_who(t);
		break;
	case CHAT_EVT_MSG:
	case CHAT_EVT_ME:
		if (t->unconfirmed > 0 && is_self(t, &ev.nick))
			t->unconfirmed--;
		break;
	case CHAT_EVT_ERR:
		/* In a pipe we only send MSG: an ERR refused one of them. */
		if (!t->tty && t->unconfirmed > 0)
			t->unconfirmed--;
		break;
	default:
		break;
	}
	if (!t->tty || tui_event(&ev))
		show(t, t->disp,
		    display_event(&t->d, &ev, now, t->disp, DISP_CAP));
	if (ev.type == CHAT_EVT_BYE) {
		/* BYE quit after our QUIT is the clean end; any other BYE
		 * (slow, idle, shutdown) ended the chat against our will. */
		t->done = true;
		t->status = t->quitting && ev.text.n == 4 &&
			memcmp(ev.text.p, "quit", 4) == 0 ?
		    EXIT_OK :
		    EXIT_FAIL;
	}
}

static void
drain_server(struct talk *t)
{
	const char *line;
	size_t len;
	enum lb_status st;

	while (!t->done && (st = conn_next(&t->c, &line, &len)) != LB_NONE) {
		if (st == LB_LINE)
			on_server_line(t, line, len);
		else
			show(t, t->disp,
			    display_too_long(&t->d, CONN_LINE_MAX,
				now_real_msec(), t->disp, DISP_CAP));
	}
	if (!t->done && t->c.eof) {
		if (t->quitting) {
			t->done = true; /* gone without BYE: still our end */
			return;
		}
		fail(t, "%s: connection closed by the server", t->c.label);
	}
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

static void
send_line(struct talk *t, const char *wire, int n)
{
	sent_something(t);
	if (n < 0 || conn_queue(&t->c, wire, (size_t)n) == -1) {
		note(t, "not sent: the server is not reading what we send");
		return;
	}
	if (!t->tty)
		t->unconfirmed++;
}

/* A line typed on the terminal: a message or a slash command. */
static void
on_typed_line(struct talk *t, const char *line, size_t len)
{
	struct slash s;
	size_t n;

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
	default: {
		int w = slash_wire(&s, t->wire, CONN_SEND_MAX);

		if (w < 0)
			note(t, "not sent: cannot make a CHAT/1 line of that");
		else
			send_line(t, t->wire, w);
		break;
	}
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
 * Pipe mode: every stdin line is a MSG, sent as is (cleaned). Returns
 * whether every complete line was taken (false: the queue is full).
 */
static bool
drain_stdin(struct talk *t)
{
	const char *line;
	size_t len, n;
	enum lb_status st;

	while (!t->quitting) {
		if (conn_room(&t->c) < CONN_SEND_MAX)
			return false;
		st = lb_next(&t->in, &line, &len);
		if (st == LB_NONE)
			return true;
		if (st == LB_TOO_LONG) {
			errmsg("stdin: a line of more than %d bytes was not "
			    "sent", CONN_INPUT_MAX);
			continue;
		}
		if (len == 0)
			continue; /* MSG needs text */
		n = input_clean(line, len, t->clean, CLEAN_CAP);
		send_line(t, t->wire,
		    chat_fmt_cmd_msg(t->wire, CONN_SEND_MAX, t->clean, n));
	}
	return true;
}

/*
 * Pipe mode after stdin EOF, every line sent: QUIT once the server has
 * relayed our messages back (or CONFIRM_TIMEOUT_MS passed), so that a
 * script's output shows them delivered.
 */
static void
maybe_quit_at_eof(struct talk *t)
{
	int64_t now = now_mono_usec();

	if (t->confirm_deadline == 0)
		t->confirm_deadline = now + CONFIRM_TIMEOUT_MS * 1000LL;
	if (t->unconfirmed == 0 || now >= t->confirm_deadline)
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
					note(t, "to leave, type /quit or press "
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

static int
talk_loop(struct talk *t)
{
	char err[512];

	sent_something(t);
	while (!t->done) {
		struct pollfd pfd[3];
		int64_t now, wake = -1;
		int nfd = 0, r, isock, iin = -1;

		drain_server(t);
		if (!t->tty && drain_stdin(t) && t->stdin_eof && !t->quitting)
			maybe_quit_at_eof(t);
		if (t->done)
			break;
		if (conn_pending(&t->c) &&
		    conn_flush(&t->c, err, sizeof(err)) == -1) {
			fail(t, "%s", err);
			break;
		}

		pfd[nfd] = (struct pollfd){ .fd = t->sigfd, .events = POLLIN };
		nfd++;
		isock = nfd;
		pfd[nfd++] = (struct pollfd){ .fd = t->c.fd,
			.events =
			    POLLIN | (conn_pending(&t->c) ? POLLOUT : 0) };
		if (!t->quitting && !t->stdin_eof &&
		    (t->tty || conn_room(&t->c) >= CONN_SEND_MAX)) {
			iin = nfd;
			pfd[nfd++] = (struct pollfd){ .fd = STDIN_FILENO,
				.events = POLLIN };
		}
		now = now_mono_usec();
		if (t->quitting)
			wake = t->quit_deadline;
		else if (t->confirm_deadline != 0)
			wake = t->confirm_deadline;
		else
			wake = t->next_keepalive;
		r = poll(pfd, (nfds_t)nfd, poll_timeout(wake, now));
		if (r < 0 && errno != EINTR) {
			fail(t, "poll: %s", strerror(errno));
			break;
		}
		if (t->quitting && now_mono_usec() >= t->quit_deadline) {
			t->done = true; /* no BYE in time: leave anyway */
			break;
		}
		if (!t->quitting && t->next_keepalive >= 0 &&
		    now_mono_usec() >= t->next_keepalive)
			keepalive(t);
		if (r <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			on_signal(t);
		if (pfd[isock].revents & POLLOUT &&
		    conn_flush(&t->c, err, sizeof(err)) == -1) {
			fail(t, "%s", err);
			break;
		}
		if (pfd[isock].revents & (POLLIN | POLLHUP | POLLERR) &&
		    conn_fill(&t->c, err, sizeof(err)) == -1) {
			fail(t, "%s", err);
			break;
		}
		if (iin >= 0 &&
		    pfd[iin].revents &
			(POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
			if (t->tty)
				on_tty_input(t);
			else
				read_stdin(t);
		}
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

/* Greet, trying nick2 .. nick9 if the login name is taken. */
static int
greet(struct talk *t, const char *nick, bool chosen, const char *room)
{
	char err[512], try[CHAT_NAME_MAX + 1];

	snprintf(try, sizeof(try), "%s", nick);
	for (int i = 2;; i++) {
		switch (conn_greet(&t->c, try, room, GREET_TIMEOUT_MS, err,
		    sizeof(err))) {
		case GREET_OK:
			return 0;
		case GREET_FAILED:
			errmsg("%s", err);
			return -1;
		case GREET_NICK_TAKEN:
			break;
		}
		if (chosen || i > NICK_TRIES) {
			errmsg("%s: the nick \"%s\" is taken; choose another "
			    "with -n", t->c.label, try);
			return -1;
		}
		/* Keep the suffix within CHAT_NAME_MAX. */
		snprintf(try, sizeof(try), "%.*s%d", CHAT_NAME_MAX - 1, nick,
		    i);
	}
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
talk_run(struct talk *t, const char *nick, bool chosen, const char *room)
{
	struct chat_server_evt ok = { .type = CHAT_EVT_OK };

	if (greet(t, nick, chosen, room) == -1)
		return EXIT_FAIL;
	if (setup_signals(t) == -1) {
		errmsg("signalfd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	t->d.self = t->c.nick;
	t->d.room = t->c.room;
	if (t->tty) {
		tui_start("> ");
		set_prompt(t);
	} else {
		lb_init(&t->in, t->instore, LB_MIN_CAP(CONN_INPUT_MAX),
		    CONN_INPUT_MAX);
	}
	/* conn_greet took the OK: show it as any other. */
	ok.nick = (struct chat_str){ t->c.nick, strlen(t->c.nick) };
	ok.room = (struct chat_str){ t->c.room, strlen(t->c.room) };
	ok.members = t->c.members;
	if (t->tty)
		tui_event(&ok);
	show(t, t->disp,
	    display_event(&t->d, &ok, now_real_msec(), t->disp, DISP_CAP));
	ask_who(t);
	return talk_loop(t);
}

int
cmd_talk(int argc, char **argv)
{
	struct talk t = { .sigfd = -1 };
	struct display_colors colors = { .n = 0 };
	const char *bell = getenv("CHATCTL_BELL");
	struct target target;
	char nick[CHAT_NAME_MAX + 1];
	const char *room = NULL;
	enum colormode color = COLORMODE_AUTO;
	bool chosen = false;
	int c, status;

	default_nick(nick, sizeof(nick));
	while ((c = args_next("talk", argc, argv)) != -1) {
		switch (c) {
		case 'n':
			if (args_name("talk", 'n', "nick", optarg) != 0)
				return EXIT_USAGE;
			snprintf(nick, sizeof(nick), "%s", optarg);
			chosen = true;
			break;
		case 'r':
			if (args_name("talk", 'r', "room", optarg) != 0)
				return EXIT_USAGE;
			room = optarg;
			break;
		case OPT_COLOR:
			if (colormode_parse(optarg, &color) == -1)
				return args_error("talk", "--color: \"%.20s\" is "
				    "not auto, always or never", optarg);
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
	if (args_target("talk", argc, argv, &target) == -1)
		return EXIT_USAGE;

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
	if (t.disp == NULL || t.clean == NULL || t.wire == NULL ||
	    t.instore == NULL) {
		errmsg("out of memory");
		status = EXIT_FAIL;
	} else if (conn_open(&t.c, &target, CONNECT_TIMEOUT_MS) == -1) {
		status = net_exit_status(errno);
	} else {
		status = talk_run(&t, nick, chosen, room);
		tui_end();
		conn_close(&t.c);
	}
	if (t.sigfd != -1) {
		close(t.sigfd);
		sigprocmask(SIG_SETMASK, &t.oldmask, NULL);
	}
	free(t.disp);
	free(t.clean);
	free(t.wire);
	free(t.instore);
	return status;
}
