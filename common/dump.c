/* SPDX-License-Identifier: ISC */
/*
 * dump.json, the saved app list of `corral save` and `corral resurrect`.
 * Writing is atomic (a temporary file in the same folder, fsync, rename,
 * fsync of the folder), mode 0600, and the previous good dump is kept as
 * dump.json.bak. A dump that does not parse is never deleted or
 * overwritten: save moves it aside as dump.json.corrupt-<time>, and
 * reading falls back to the .bak.  Strings that are not UTF-8 (paths,
 * arguments) are saved escaped and read back as they were (jsonb.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DUMP_MAX_SIZE (64 * 1024 * 1024)        /* 10,000 apps: ~10 MiB */

/* The rename of a file in path's folder made durable: the folder synced. */
static void
dump_sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int dfd;

	if ((dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(copy);
}

/* Writes len bytes of data to path through a temporary file and rename. */
static int
dump_write_file(const char *path, const char *data, size_t len, char **cause)
{
	char *tmp;
	ssize_t n;
	size_t off = 0;
	int fd;

	/* Made anew: a FIFO or link planted there is never opened. */
	xasprintf(&tmp, "%s.tmp", path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0600);
	if (fd == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, 0600) == -1)
		goto fail;
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	dump_sync_dir(path);
	return 0;

fail:
	xasprintf(cause, "%s: %s", tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

/* Checks the shape of a dump; returns 0, or -1 with *cause. */
static int
dump_check(json_t *dump, char **cause)
{
	json_t *apps = json_object_get(dump, "apps");
	json_t *app;
	size_t i;

	if (!json_is_object(dump) || !json_is_array(apps)) {
		xasprintf(cause, "not a corral dump (no \"apps\" array)");
		return -1;
	}
	json_array_foreach(apps, i, app) {
		if (!json_is_object(app) ||
		    !json_is_string(json_object_get(app, "name"))) {
			xasprintf(cause, "apps[%zu] has no name", i);
			return -1;
		}
	}
	return 0;
}

/*
 * Parses and checks the text of a dump (shown names it in messages): the
 * dump with its bytes given back (jsonb.c), or NULL with *cause ("shown:
 * why").
 */
json_t *
dump_parse(const char *shown, const char *text, size_t len, char **cause)
{
	json_error_t jerr;
	json_t *dump;
	char *why = NULL;

	dump = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (dump == NULL) {
		xasprintf(cause, "%s:%d: %s", shown, jerr.line, jerr.text);
		return NULL;
	}
	if (dump_check(dump, &why) != 0) {
		xasprintf(cause, "%s: %s", shown, why);
		free(why);
		json_decref(dump);
		return NULL;
	}
	jsonb_unescape(dump);
	return dump;
}

/* Loads and checks one dump file; NULL with *cause ("file: why"). */
static json_t *
dump_load(const char *path, char **cause)
{
	json_t *dump;
	char *text;
	size_t len;

	if (safefile_read(path, DUMP_MAX_SIZE, &text, &len, cause) == -1)
		return NULL;
	dump = dump_parse(path, text, len, cause);
	free(text);
	return dump;
}

/* Moves a dump that does not parse out of the way, keeping it. */
static int
dump_keep_corrupt(const char *path, char **cause)
{
	char stamp[32], *aside;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	xasprintf(&aside, "%s.corrupt-%s", path, stamp);
	if (rename(path, aside) == -1) {
		xasprintf(cause, "%s: %s", aside, strerror(errno));
		free(aside);
		return -1;
	}
	log_warnx("%s does not parse; kept as %s", path, aside);
	free(aside);
	return 0;
}

/*
 * Saves dump (an object with an "apps" array) to path. The dump there
 * before, if it parses, becomes path.bak. Returns 0, or -1 with *cause (the
 * caller frees); on failure path is unchanged.
 */
int
dump_write(const char *path, json_t *dump, char **cause)
{
	char *text, *old = NULL, *bak, *why = NULL;
	size_t oldlen;
	json_t *prev;
	int rc;

	if (dump_check(dump, cause) != 0)
		return -1;
	if ((text = jsonb_dumps(dump, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL) {
		xasprintf(cause, "cannot encode the dump");
		return -1;
	}
	if (access(path, F_OK) == 0) {
		if ((prev = dump_load(path, &why)) == NULL) {
			free(why);
			if (dump_keep_corrupt(path, cause) != 0) {
				free(text);
				return -1;
			}
		} else {
			json_decref(prev);
			xasprintf(&bak, "%s.bak", path);
			if (safefile_read(path, DUMP_MAX_SIZE, &old, &oldlen,
			    cause) != 0 ||
			    dump_write_file(bak, old, oldlen, cause) != 0) {
				free(bak);
				free(old);
				free(text);
				return -1;
			}
			free(bak);
			free(old);
		}
	}
	xasprintf(&old, "%s\n", text);
	rc = dump_write_file(path, old, strlen(old), cause);
	free(old);
	free(text);
	return rc;
}

/*
 * Reads the dump at path, or if that is missing or does not parse, the one
 * at path.bak; neither file is changed. Returns the dump, with *warning
 * (the caller frees) saying why the .bak was used, or NULL with *cause
 * giving both failures.
 */
json_t *
dump_read(const char *path, char **warning, char **cause)
{
	char *bak, *why = NULL, *bakwhy = NULL;
	json_t *dump;

	*warning = NULL;
	if ((dump = dump_load(path, &why)) != NULL)
		return dump;
	xasprintf(&bak, "%s.bak", path);
	if ((dump = dump_load(bak, &bakwhy)) != NULL)
		xasprintf(warning, "%s; using %s", why, bak);
	else if (access(path, F_OK) == -1 && access(bak, F_OK) == -1)
		xasprintf(cause, "no saved apps (%s does not exist; run "
		    "'corral save' first)", path);
	else
		xasprintf(cause, "%s\n%s", why, bakwhy);
	free(why);
	free(bakwhy);
	free(bak);
	return dump;
}
