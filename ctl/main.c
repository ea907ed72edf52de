/* SPDX-License-Identifier: ISC */
/*
 * corral: the command-line client. It forwards the command, its words, the
 * working directory and the environment to the daemon (starting it when
 * needed) and prints the reply. The daemon parses and validates; this side
 * knows only how to print each kind of reply.
 * Exit status: 0 ok, 1 failure, 100 usage error, 111 daemon unreachable.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"

/* A reply that did its work but failed in part: its warning, its exit. */
static int
main_warning(json_t *reply)
{
	const char *w = json_string_value(json_object_get(reply, "warning"));
	json_t *ex = json_object_get(reply, "exit");

	if (w != NULL)
		fprintf(stderr, "corral: %s\n", w);
	return json_is_integer(ex) ? (int)json_integer_value(ex) : 0;
}

static int
main_print_reply(struct client *cl, json_t *reply, int json_out)
{
	const char *kind = json_string_value(json_object_get(reply, "kind"));
	const char *msg = json_string_value(json_object_get(reply, "message"));
	json_t *data = json_object_get(reply, "data");

	if (!json_is_true(json_object_get(reply, "ok"))) {
		json_t *ex = json_object_get(reply, "exit");
		const char *err = json_string_value(json_object_get(reply,
		    "error"));

		fprintf(stderr, "corral: %s\n", err != NULL ? err : "failed");
		return json_is_integer(ex) ? (int)json_integer_value(ex) : 1;
	}
	if (kind == NULL)
		kind = "message";
	if (json_out && strcmp(kind, "logs") != 0) {
		print_json(data);
		return main_warning(reply);
	}
	if (strcmp(kind, "list") == 0) {
		/* main_print_list() prints every list jansson can read. */
		fprintf(stderr, "corral: a list this client cannot read\n");
		return 1;
	}
	if (msg != NULL)
		printf("%s\n", msg);
	if (strcmp(kind, "describe") == 0)
		print_describe(data);
	else if (strcmp(kind, "json") == 0 && json_is_true(json_object_get(reply,
	    "pretty")))
		print_json_pretty(data);
	else if (strcmp(kind, "json") == 0)
		print_json(data);
	else if (strcmp(kind, "logs") == 0)
		return logs_run(cl, data, json_out);
	else if (json_is_string(data)) {
		const char *s = json_string_value(data);

		printf("%s%s", s, s[0] != '\0' && s[strlen(s) - 1] == '\n' ?
		    "" : "\n");
	}
	return main_warning(reply);
}

/* A string member of the reply's top object, decoded; NULL when none. */
static char *
main_scan_str(const struct jscan *js, const char *key)
{
	size_t v = jscan_get(js, JSCAN_ROOT, key);

	return jscan_type(js, v) == JSCAN_STRING ? jscan_str(js, v) : NULL;
}

/*
 * Prints a successful reply of kind "list" (ls, and what start, stop and
 * the like print) as the table, from a scan of its line: jansson would
 * take a third of what `ls` costs (see docs/profile-ls.md).  Returns the
 * exit status, or -1 for any other reply, which the caller decodes.
 */
static int
main_print_list(const char *line, size_t len)
{
	struct jscan js;
	char *kind = NULL, *s;
	size_t ex;
	int rc = -1;

	if (jscan_parse(&js, line, len) == -1 || jscan_int(&js,
	    jscan_get(&js, JSCAN_ROOT, "v")) != PROTO_VERSION ||
	    jscan_type(&js, jscan_get(&js, JSCAN_ROOT, "ok")) != JSCAN_TRUE ||
	    (kind = main_scan_str(&js, "kind")) == NULL ||
	    strcmp(kind, "list") != 0)
		goto out;
	if ((s = main_scan_str(&js, "message")) != NULL)
		printf("%s\n", s);
	free(s);
	print_list(&js, jscan_get(&js, JSCAN_ROOT, "data"),
	    isatty(STDOUT_FILENO));
	if ((s = main_scan_str(&js, "warning")) != NULL)
		fprintf(stderr, "corral: %s\n", s);
	free(s);
	ex = jscan_get(&js, JSCAN_ROOT, "exit");
	rc = jscan_type(&js, ex) == JSCAN_INT ? (int)jscan_int(&js, ex) : 0;
out:
	free(kind);
	jscan_free(&js);
	return rc;
}

/*
 * For a command that does not start a daemon, when none runs: kill has
 * nothing to stop, help comes from corrald's command table without serving
 * anything, version says so.
 */
static int
main_no_daemon(const char *cmd, json_t *words)
{
	if (strcmp(cmd, "help") == 0)
		return client_exec_help(words);
	if (strcmp(cmd, "version") == 0)
		printf("corrald: not running\n");
	else
		printf("corral: no daemon running\n");
	return 0;
}

static int
main_has_word(json_t *words, const char *word)
{
	json_t *w;
	size_t i;

	json_array_foreach(words, i, w) {
		if (strcmp(json_string_value(w), "--") == 0)
			break;
		if (strcmp(json_string_value(w), word) == 0)
			return 1;
	}
	return 0;
}

/* Splits off the client-only flags (--json); returns the words to forward. */
static json_t *
main_words(int argc, char **argv, int *json_out)
{
	json_t *words = json_array();
	int i, rest = 0;

	for (i = 0; i < argc; i++) {
		if (!rest && strcmp(argv[i], "--") == 0)
			rest = 1;
		if (!rest && strcmp(argv[i], "--json") == 0) {
			*json_out = 1;
			continue;
		}
		json_array_append_new(words, json_str(argv[i]));
	}
	return words;
}

/*
 * Connects cl to the daemon. With none running: answers as main_no_daemon()
 * does when start is unset, else starts one, once corrald --check-command
 * has found the words good. Returns 0 when connected, or -1 with *rc the
 * exit status (cl closed).
 */
static int
main_connect(struct client *cl, const char *cmd, json_t *words, int start,
    int *rc)
{
	char *cause = NULL;

	if (client_connect(cl, 0, &cause) == 0)
		return 0;
	client_close(cl);
	free(cause);
	cause = NULL;
	if (!start) {
		fflush(stdout);
		*rc = main_no_daemon(cmd, words);
		return -1;
	}
	/* No daemon yet: words it would refuse start none. */
	if ((*rc = client_check_command(cmd, words)) != 0)
		return -1;
	if (client_connect(cl, 1, &cause) == -1) {
		client_close(cl);
		fprintf(stderr, "corral: cannot reach the daemon: %s\n", cause);
		free(cause);
		*rc = EXIT_UNREACHABLE;
		return -1;
	}
	return 0;
}

/*
 * Sends the command to the daemon (started when start is set and none
 * runs) and prints the reply; returns the exit status.
 */
static int
main_request(const char *cmd, json_t *words, int start, int json_out)
{
	struct client cl;
	char cwd[PATH_MAX], *cause = NULL, *line;
	json_t *req, *reply;
	size_t len;
	int rc = -1;

	if (getcwd(cwd, sizeof cwd) == NULL)
		strcpy(cwd, "/");
	if (main_connect(&cl, cmd, words, start, &rc) == -1)
		return rc;
	req = json_pack("{s:o, s:O, s:o, s:o, s:b}", "cmd", json_str(cmd),
	    "argv", words, "cwd", json_str(cwd), "env", client_env_json(),
	    "resume", 1);
	reply = NULL;
	line = client_send(&cl, req) == -1 ? NULL :
	    resume_recv_line(&cl, req, &len, &cause);
	/* a kill that no engine answers: the keeper stops the apps */
	if (line == NULL && cl.stuck && strcmp(cmd, "kill") == 0 &&
	    (rc = stuck_kill(&cl)) >= 0) {
		free(cause);
		json_decref(req);
		client_close(&cl);
		return rc;
	}
	if (line == NULL || ((json_out || strcmp(cmd, "update") == 0 ||
	    (rc = main_print_list(line, len)) == -1) &&
	    (reply = proto_decode(line, len, &cause)) == NULL)) {
		fprintf(stderr, "corral: the daemon did not answer: %s\n",
		    cause != NULL ? cause : strerror(errno));
		free(cause);
		json_decref(req);
		client_close(&cl);
		return EXIT_UNREACHABLE;
	}
	json_decref(req);
	if (reply != NULL && strcmp(cmd, "update") == 0 &&
	    json_is_true(json_object_get(reply, "ok")))
		rc = update_wait(reply);
	else if (reply != NULL)
		rc = main_print_reply(&cl, reply, json_out);
	if (strcmp(cmd, "kill") == 0 && rc == 0)
		client_wait_gone(&cl, 30000);
	json_decref(reply);
	client_close(&cl);
	return rc;
}

static size_t
main_seed(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (size_t)getpid();
	return (size_t)ts.tv_nsec ^ (size_t)ts.tv_sec ^ ((size_t)getpid() << 16);
}

int
main(int argc, char **argv)
{
	const char *cmd;
	json_t *words;
	int json_out = 0, rc;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * jansson seeds its hash function from /dev/urandom on first use (an
	 * open and a read per command); the client parses only its own
	 * daemon's replies, so a seed from the pid and clock does.
	 */
	json_object_seed(main_seed());
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		cmd = "help";
	else if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0) {
		printf("corral %s\n", CORRAL_VERSION);
		return 0;
	} else
		cmd = argv[1];
	if (strcmp(cmd, "monit") == 0)
		return client_exec_monit(argv + 1);
	words = main_words(argc > 2 ? argc - 2 : 0, argv + 2, &json_out);
	/* `corral CMD --help` is `corral help CMD` (before any "--"). */
	if (strcmp(cmd, "help") != 0 && (main_has_word(words, "--help") ||
	    main_has_word(words, "-h"))) {
		json_decref(words);
		words = json_pack("[s]", cmd);
		cmd = "help";
	}
	if (strcmp(cmd, "version") == 0)
		printf("corral %s\n", CORRAL_VERSION);
	if (strcmp(cmd, "startup") == 0 || strcmp(cmd, "unstartup") == 0)
		rc = startup_main(cmd, words);
	else if (strcmp(cmd, "version") == 0 && main_has_word(words,
	    "--client"))
		rc = 0;
	else
		/* Commands that need no daemon never start one. */
		rc = main_request(cmd, words, strcmp(cmd, "kill") != 0 &&
		    strcmp(cmd, "help") != 0 && strcmp(cmd, "version") != 0,
		    json_out);
	json_decref(words);
	return rc;
}
