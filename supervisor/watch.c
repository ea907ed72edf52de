/* SPDX-License-Identifier: ISC */
/*
 * File watching for the `watch` key: restart an app when a file changes
 * under its watched paths. libuv's fs events (inotify) are not recursive on
 * Linux, so every folder under a watched path gets its own uv_fs_event_t,
 * and folders created later are added as they appear. Paths matching an
 * ignore pattern (fnmatch(3), against the path relative to the app's cwd
 * and against each of its names) are skipped; a burst of changes calls
 * back once, debounce milliseconds after the last one.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>

#include "corrald.h"

#define WATCH_MAX_DIRS 4096

static const char *const watch_default_ignores[] = { ".git", "node_modules" };

struct watch_dir {
	uv_fs_event_t event;
	struct watch *w;
	char *path;
};

struct watch {
	uv_loop_t *loop;
	char *base;
	char **ignores;
	size_t nignores;
	struct watch_dir **dirs;
	size_t ndirs;
	uv_timer_t timer;
	uint64_t debounce;
	char *changed;          /* last changed path, for the callback */
	void (*cb)(void *, const char *);
	void *arg;
	int closing;
	int handles;            /* open handles, the struct goes with the last */
};

static void watch_event(uv_fs_event_t *, const char *, int, int);

/* Tells whether path (absolute) is to be left alone. */
static int
watch_ignored(const struct watch *w, const char *path)
{
	const char *rel = path, *name;
	char *copy, *save = NULL;
	size_t i, blen = strlen(w->base);
	int hit = 0;

	if (strncmp(path, w->base, blen) == 0 && path[blen] == '/')
		rel = path + blen + 1;
	for (i = 0; i < w->nignores && !hit; i++) {
		if (fnmatch(w->ignores[i], rel, 0) == 0 ||
		    fnmatch(w->ignores[i], path, 0) == 0)
			hit = 1;
		copy = xstrdup(rel);
		for (name = strtok_r(copy, "/", &save); name != NULL && !hit;
		    name = strtok_r(NULL, "/", &save))
			hit = fnmatch(w->ignores[i], name, 0) == 0;
		free(copy);
	}
	return hit;
}

static void
watch_handle_closed(uv_handle_t *h)
{
	struct watch *w;
	struct watch_dir *d;
	size_t i;

	if (h->type == UV_FS_EVENT) {
		d = h->data;
		w = d->w;
		free(d->path);
		free(d);
	} else
		w = h->data;
	if (--w->handles > 0)
		return;
	for (i = 0; i < w->nignores; i++)
		free(w->ignores[i]);
	free(w->ignores);
	free(w->dirs);
	free(w->changed);
	free(w->base);
	free(w);
}

static int
watch_is_watched(const struct watch *w, const char *path)
{
	size_t i;

	for (i = 0; i < w->ndirs; i++) {
		if (strcmp(w->dirs[i]->path, path) == 0)
			return 1;
	}
	return 0;
}

/* Watches one folder or file. Returns 0 or a libuv error. */
static int
watch_add_one(struct watch *w, const char *path)
{
	struct watch_dir *d;
	int rc;

	if (watch_is_watched(w, path))
		return 0;
	if (w->ndirs >= WATCH_MAX_DIRS)
		return UV_ENOSPC;
	d = xcalloc(1, sizeof *d);
	d->w = w;
	d->path = xstrdup(path);
	d->event.data = d;
	if ((rc = uv_fs_event_init(w->loop, &d->event)) != 0) {
		free(d->path);
		free(d);
		return rc;
	}
	w->handles++;
	if ((rc = uv_fs_event_start(&d->event, watch_event, path, 0)) != 0) {
		uv_close((uv_handle_t *)&d->event, watch_handle_closed);
		return rc;
	}
	w->dirs = xreallocarray(w->dirs, w->ndirs + 1, sizeof *w->dirs);
	w->dirs[w->ndirs++] = d;
	return 0;
}

/* Watches path and, if a folder, every folder under it not ignored. */
static int
watch_add_tree(struct watch *w, const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *dp;
	char *sub;
	int rc;

	if (lstat(path, &st) == -1)
		return uv_translate_sys_error(errno);
	if ((rc = watch_add_one(w, path)) != 0 || !S_ISDIR(st.st_mode))
		return rc;
	if ((dp = opendir(path)) == NULL)
		return 0;       /* vanished or unreadable: its own watch stays */
	while ((de = readdir(dp)) != NULL && rc == 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") ==
		    0)
			continue;
		xasprintf(&sub, "%s/%s", path, de->d_name);
		if (!watch_ignored(w, sub) && lstat(sub, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			rc = watch_add_tree(w, sub);
		free(sub);
	}
	closedir(dp);
	return rc;
}

static void
watch_fire(uv_timer_t *timer)
{
	struct watch *w = timer->data;

	if (!w->closing)
		w->cb(w->arg, w->changed != NULL ? w->changed : w->base);
}

static void
watch_event(uv_fs_event_t *ev, const char *filename, int events, int status)
{
	struct watch_dir *d = ev->data;
	struct watch *w = d->w;
	struct stat st;
	char *path;
	int rc;

	(void)events;
	if (w->closing)
		return;
	if (status != 0) {
		log_warnx("watch %s: %s", d->path, uv_strerror(status));
		return;
	}
	if (filename != NULL && *filename != '\0')
		xasprintf(&path, "%s/%s", d->path, filename);
	else
		path = xstrdup(d->path);
	if (watch_ignored(w, path)) {
		free(path);
		return;
	}
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (rc = watch_add_tree(w, path)) != 0)
		log_warnx("watch %s: %s", path, uv_strerror(rc));
	free(w->changed);
	w->changed = path;
	(void)timer_start(&w->timer, watch_fire, w->debounce, 0);
}

static void
watch_add_ignore(struct watch *w, const char *pattern)
{
	w->ignores = xreallocarray(w->ignores, w->nignores + 1,
	    sizeof *w->ignores);
	w->ignores[w->nignores++] = xstrdup(pattern);
}

/* The absolute path of s (relative to w's base), no '/' at its end. */
static char *
watch_path(const struct watch *w, const char *s)
{
	char *p;

	if (s[0] == '/')
		p = xstrdup(s);
	else if (strcmp(s, ".") == 0 || strcmp(s, "./") == 0)
		p = xstrdup(w->base);
	else
		xasprintf(&p, "%s/%s", w->base, s);
	while (strlen(p) > 1 && p[strlen(p) - 1] == '/')
		p[strlen(p) - 1] = '\0';
	return p;
}

/*
 * Watches the trees of paths (the base's when there is none). Returns 0,
 * or -1 with *cause naming the path that failed.
 */
static int
watch_add_paths(struct watch *w, json_t *paths, char **cause)
{
	json_t *v;
	size_t i;
	char *p;
	int rc;

	if (json_array_size(paths) == 0) {
		if ((rc = watch_add_tree(w, w->base)) == 0)
			return 0;
		xasprintf(cause, "watch %s: %s", w->base, uv_strerror(rc));
		return -1;
	}
	json_array_foreach(paths, i, v) {
		if (!json_is_string(v))
			continue;
		p = watch_path(w, json_string_value(v));
		rc = watch_add_tree(w, p);
		if (rc != 0)
			xasprintf(cause, "watch %s: %s", p, uv_strerror(rc));
		free(p);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/*
 * Starts watching paths (a JSON array of strings, relative to base or
 * absolute; empty: base itself), skipping the ignore patterns (a JSON
 * array, may be NULL) and the defaults. cb(arg, changed_path) runs once
 * per burst of changes, debounce ms after its last change, until
 * watch_free(). Returns NULL with *cause on failure.
 */
struct watch *
watch_create(uv_loop_t *loop, const char *base, json_t *paths, json_t *ignore,
    uint64_t debounce, void (*cb)(void *, const char *), void *arg,
    char **cause)
{
	struct watch *w;
	json_t *v;
	size_t i;

	w = xcalloc(1, sizeof *w);
	timer_init(loop, &w->timer);
	w->loop = loop;
	w->base = xstrdup(base);
	w->debounce = debounce;
	w->cb = cb;
	w->arg = arg;
	w->timer.data = w;
	w->handles = 1;
	for (i = 0; i < nitems(watch_default_ignores); i++)
		watch_add_ignore(w, watch_default_ignores[i]);
	json_array_foreach(ignore, i, v) {
		if (json_is_string(v))
			watch_add_ignore(w, json_string_value(v));
	}
	if (watch_add_paths(w, paths, cause) == -1) {
		watch_free(w);
		return NULL;
	}
	return w;
}

/* Stops watching; no callback runs after this. Handles close later. */
void
watch_free(struct watch *w)
{
	size_t i;

	if (w == NULL)
		return;
	w->closing = 1;
	for (i = 0; i < w->ndirs; i++)
		uv_close((uv_handle_t *)&w->dirs[i]->event,
		    watch_handle_closed);
	uv_close((uv_handle_t *)&w->timer, watch_handle_closed);
}

/* The number of folders and files watched, for describe. */
size_t
watch_count(const struct watch *w)
{
	return w->ndirs;
}
