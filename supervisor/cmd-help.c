/* SPDX-License-Identifier: ISC */
/*
 * `corral help [command]`: the help text, made from the command table. The
 * same text is what `corrald --help-commands [command]` prints without
 * serving anything, for a client that finds no daemon running.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

extern const struct cmd_entry cmd_help_entry;

static void
cmd_help_append(char **text, const char *fmt, ...) PRINTFLIKE(2, 3);

static void
cmd_help_append(char **text, const char *fmt, ...)
{
	va_list ap;
	char *add, *joined;

	va_start(ap, fmt);
	xvasprintf(&add, fmt, ap);
	va_end(ap);
	xasprintf(&joined, "%s%s", *text, add);
	free(add);
	free(*text);
	*text = joined;
}

static char *
cmd_help_one(const struct cmd_entry *e)
{
	const struct args_opt *o = e->opts_fn != NULL ? e->opts_fn() : e->opts;
	char *text = xstrdup("");
	size_t i;

	cmd_help_append(&text, "usage: corral %s %s\n\n%s\n", e->name, e->usage,
	    e->summary);
	if (e->aliases[0] != NULL) {
		cmd_help_append(&text, "\naliases:");
		for (i = 0; i < nitems(e->aliases) && e->aliases[i]; i++)
			cmd_help_append(&text, " %s", e->aliases[i]);
		cmd_help_append(&text, "\n");
	}
	if (o != NULL && o->name != NULL) {
		cmd_help_append(&text, "\noptions:\n");
		for (; o->name != NULL; o++) {
			if (o->short_name != 0)
				cmd_help_append(&text, "  -%c, --%-26s %s\n",
				    o->short_name, o->name, o->help);
			else
				cmd_help_append(&text, "      --%-26s %s\n",
				    o->name, o->help);
		}
	}
	return text;
}

static char *
cmd_help_all(void)
{
	const struct cmd_entry **e;
	char *text = xstrdup("usage: corral <command> [arguments]\n\ncommands:\n");

	for (e = cmd_table; *e != NULL; e++)
		cmd_help_append(&text, "  %-12s %s\n", (*e)->name, (*e)->summary);
	cmd_help_append(&text, "  %-12s %s\n", "startup",
	    "install a boot service that resurrects the saved apps");
	cmd_help_append(&text, "  %-12s %s\n", "unstartup",
	    "remove that boot service");
	cmd_help_append(&text, "\n'corral help <command>' tells more.\n"
	    "Exit status: 0 ok, 1 failure, 3 apps started again after a lost "
	    "keeper,\n100 usage error, 111 no daemon (or no engine answered "
	    "for 5 s).\n");
	return text;
}

/* The help of command name, or of every command (NULL); NULL if unknown. */
static char *
cmd_help_text(const char *name)
{
	const struct cmd_entry *e;

	if (name == NULL)
		return cmd_help_all();
	if ((e = cmd_find(name)) == NULL)
		return NULL;
	return cmd_help_one(e);
}

/*
 * corrald --help-commands [command]: prints the help of the words to stdout
 * and returns the exit status; a usage error (100) is told on stderr as the
 * client tells the daemon's.
 */
int
cmd_help_print(int argc, char **argv)
{
	char *text;

	if (argc > cmd_help_entry.max_args) {
		fprintf(stderr, "corral: usage: corral help %s\n",
		    cmd_help_entry.usage);
		return EXIT_USAGE;
	}
	if ((text = cmd_help_text(argc > 0 ? argv[0] : NULL)) == NULL) {
		fprintf(stderr, "corral: unknown command '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	fputs(text, stdout);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
cmd_help_exec(struct cmd_ctx *ctx)
{
	const char *name = args_npos(&ctx->args) > 0 ?
	    args_pos(&ctx->args, 0) : NULL;
	char *text = cmd_help_text(name);

	if (text == NULL) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "unknown command '%s'",
		    name);
		return CMD_REPLIED;
	}
	conn_reply(ctx->conn, proto_ok("message", json_str(text)));
	free(text);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.usage = "[command]",
	.summary = "show this help, or a command's",
	.min_args = 0,
	.max_args = 1,
	.exec = cmd_help_exec,
};
