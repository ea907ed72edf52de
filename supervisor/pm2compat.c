/* SPDX-License-Identifier: ISC */
/*
 * What PM2's settings mean in corral: exec_mode (fork or cluster; cluster
 * turns on bind on demand, see bindreq.c), the interpreter's own options
 * (node_args, interpreter_args), the variable that holds the instance
 * index (instance_var), and which apps are node apps (they get a Node IPC
 * channel, nodeipc.c). The setters are called from appcfg.c's table.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

/* exec_mode as given ("fork", "cluster", PM2's "fork_mode"...), checked. */
const char *
pm2compat_exec_mode(const char *s, char **cause)
{
	if (strcmp(s, "fork") == 0 || strcmp(s, "fork_mode") == 0)
		return "fork";
	if (strcmp(s, "cluster") == 0 || strcmp(s, "cluster_mode") == 0)
		return "cluster";
	xasprintf(cause, "exec_mode: '%s' is not fork or cluster", s);
	return NULL;
}

/* Appends the words of s (split as a shell would, no expansion) to a. */
int
pm2compat_words(json_t *a, const char *s, const char *key, char **cause)
{
	json_t *words, *w;
	char *why = NULL;
	size_t i;

	if ((words = cfgfile_split_args(s, &why)) == NULL) {
		xasprintf(cause, "%s: %s", key, why);
		free(why);
		return -1;
	}
	json_array_foreach(words, i, w)
		json_array_append(a, w);
	json_decref(words);
	return 0;
}

/*
 * Fills in what PM2 decides when a setting is left out: exec_mode is
 * cluster for more than one instance (PM2 does so for node apps; corral
 * shares sockets for any language), fork otherwise.
 */
void
pm2compat_resolve(struct app_config *c)
{
	if (c->exec_mode == NULL)
		c->exec_mode = xstrdup(c->instances > 1 ? "cluster" : "fork");
}

/* Whether the instances' own bind() of a new address is served by the daemon. */
int
pm2compat_cluster(const struct app_config *c)
{
	return c->exec_mode != NULL && strcmp(c->exec_mode, "cluster") == 0 &&
	    c->preload;
}

/* Whether the app's main process is node (run by the interpreter node). */
int
pm2compat_is_node(const struct app_config *c)
{
	const char *base;

	if (c->interpreter == NULL)
		return 0;
	base = strrchr(c->interpreter, '/');
	base = base != NULL ? base + 1 : c->interpreter;
	return strcmp(base, "node") == 0 || strcmp(base, "nodejs") == 0;
}

/* The variable that holds the instance index. */
const char *
pm2compat_instance_var(const struct app_config *c)
{
	return c->instance_var != NULL && *c->instance_var != '\0' ?
	    c->instance_var : "NODE_APP_INSTANCE";
}
