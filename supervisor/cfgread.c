/* SPDX-License-Identifier: ISC */
/*
 * Reading the config file a command names (start FILE, reload FILE, ...)
 * without holding up the loop: a corral.ini is parsed at once, a PM2
 * ecosystem file (.js, .cjs, .mjs, .json) is evaluated by node
 * (ecoeval.c) and the command goes on when node is done. Meanwhile the
 * command's context is kept here: a copy of the request, its parsed
 * arguments, the client's folder and environment. The client may go
 * away meanwhile: its connection is then NULL in the context the callback
 * gets, and the command goes on without anybody to answer.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

struct cfgread {
	struct cmd_ctx ctx;             /* owned copies */
	char *path;
	char *shown;
	cfgread_cb *cb;
	TAILQ_ENTRY(cfgread) entry;
};
TAILQ_HEAD(cfgread_list, cfgread);

static struct cfgread_list cfgreads = TAILQ_HEAD_INITIALIZER(cfgreads);

static void
cfgread_free(struct cfgread *r)
{
	json_decref(r->ctx.req);
	json_decref(r->ctx.env);
	free((char *)r->ctx.cwd);
	args_free(&r->ctx.args);
	free(r->path);
	free(r->shown);
	free(r);
}

static void
cfgread_done(void *arg, struct cfgfile *cf, char *cause)
{
	struct cfgread *r = arg;

	TAILQ_REMOVE(&cfgreads, r, entry);
	r->cb(&r->ctx, r->path, cf, cause);
	cfgfile_free(cf);
	free(cause);
	cfgread_free(r);
}

/* A .json file read as strict JSON, when node is not there to read it. */
static void
cfgread_strict(struct cfgread *r, char *why)
{
	struct cfgfile *cf;
	char *cause = NULL, *tmp;

	cf = cfgfile_read(r->path, r->shown, &cause);
	if (cf == NULL && cause != NULL) {
		xasprintf(&tmp, "%s\n(%s)", cause, why);
		free(cause);
		cause = tmp;
	}
	free(why);
	cfgread_done(r, cf, cause);
}

/*
 * Reads the file named by the command's first word (relative to the
 * client's folder) and calls cb with the context, the file's absolute
 * path, and its cfgfile or the reason why not (cb frees neither). cb may
 * run before this returns (INI files) or later (node).
 */
void
cfgread_start(struct cmd_ctx *ctx, cfgread_cb *cb)
{
	struct cfgread *r = xcalloc(1, sizeof *r);
	const char *shown = args_pos(&ctx->args, 0);
	struct cfgfile *cf;
	char *cause = NULL;
	int kind;

	r->ctx = *ctx;
	r->ctx.req = json_incref(ctx->req);
	r->ctx.env = ctx->env != NULL ? json_incref(ctx->env) : NULL;
	r->ctx.cwd = xstrdup(ctx->cwd);
	json_incref(ctx->args.opts);
	json_incref(ctx->args.pos);
	json_incref(ctx->args.rest);
	r->cb = cb;
	r->shown = xstrdup(shown);
	if (shown[0] == '/')
		r->path = xstrdup(shown);
	else
		xasprintf(&r->path, "%s/%s", ctx->cwd, shown);
	TAILQ_INSERT_TAIL(&cfgreads, r, entry);
	kind = cfgfile_kind(r->path);
	if (kind != CFGFILE_JSON && kind != CFGFILE_JS) {
		cf = cfgfile_read(r->path, r->shown, &cause);
		cfgread_done(r, cf, cause);
		return;
	}
	if (ecoeval_start(r->path, r->shown, ctx->cwd, ctx->env, cfgread_done,
	    r, &cause) == 0)
		return;
	if (kind == CFGFILE_JSON && ecoeval_node(ctx->env) == NULL) {
		cfgread_strict(r, cause);
		return;
	}
	cfgread_done(r, NULL, cause);
}

/* The client of a pending read went away. */
void
cfgread_conn_gone(struct conn *conn)
{
	struct cfgread *r;

	TAILQ_FOREACH(r, &cfgreads, entry) {
		if (r->ctx.conn == conn)
			r->ctx.conn = NULL;
	}
}
