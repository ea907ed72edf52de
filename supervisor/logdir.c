/* SPDX-License-Identifier: ISC */
/*
 * The folders of an app's log files: a path such as out_file =
 * "logs/out.log" whose folder does not exist gets it made (mkdir -p, mode
 * 0755), owned by the app's user and group when the daemon runs as root
 * and the app as someone else, as PM2 makes them. An app whose files could
 * not be opened (a folder that cannot be made yet: a mount to come, a
 * permission) is tried again at each spawn and every few seconds, so that
 * its lines go to the files once the folder is there.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

#define LOGDIR_RETRY_MS 5000

/* Who owns the folders made for c's files: (uid_t)-1 for the daemon. */
void
logdir_owner(const struct app_config *c, uid_t *uid, gid_t *gid)
{
	struct privdrop pd;
	char *cause = NULL;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (geteuid() != 0 || (c->user == NULL && c->group == NULL))
		return;
	if (privdrop_resolve(c->user, c->group, &pd, &cause) == 0) {
		*uid = c->user != NULL ? pd.uid : (uid_t)-1;
		*gid = pd.gid;
	}
	free(cause);
	privdrop_free(&pd);
}

/*
 * Makes the folders of file path that are missing, each given to uid and
 * gid unless those are -1. Returns -1 with *cause when one cannot be made.
 */
int
logdir_make(const char *path, uid_t uid, gid_t gid, char **cause)
{
	char *copy = xstrdup(path), *dir = dirname(copy), *p;
	struct stat st;
	int rc = 0;

	if (stat(dir, &st) == 0) {
		free(copy);
		return 0;
	}
	for (p = dir + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			log_info("made the log folder %s", dir);
			if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
			    lchown(dir, uid, gid) == -1)
				log_warn("chown %s", dir);
		} else if (errno != EEXIST) {
			xasprintf(cause, "cannot make the log folder %s: %s", dir,
			    strerror(errno));
			rc = -1;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(copy);
	return rc;
}

/* Opens the files of an app that has none yet; quiet when it fails again. */
void
logdir_retry(struct app *app)
{
	char *cause = NULL;

	if (app->logs != NULL || app->deleted || app->cfg.disable_logs)
		return;
	if (logsink_open(app, &cause) == 0)
		log_info("%s: log files open: %s", app->cfg.name,
		    app->log_out_path);
	free(cause);
}

/* Every LOGDIR_RETRY_MS (called each second): apps without their files. */
void
logdir_tick(void)
{
	static uint64_t last;
	struct app *app;

	if (mono_ms() - last < LOGDIR_RETRY_MS)
		return;
	last = mono_ms();
	TAILQ_FOREACH(app, &D.apps, entry)
		logdir_retry(app);
}
