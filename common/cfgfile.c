/* SPDX-License-Identifier: ISC */
/*
 * The INI form of an app list (corral.ini), read with inih into a struct
 * cfgfile: one app per section, each key with the line it came from, so
 * that whoever applies the keys can say "file:line: message". This file
 * knows the syntax only (sections, duplicates, line lengths); the meaning
 * of each key is checked by the table of app options that the CLI flags
 * use too. Leading blanks are dropped from every line, so that an indented
 * key is a key and never a continuation of the previous value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "common.h"

/* What the index predicates compare: a name or key against a table. */
struct cfgfile_probe {
	const struct cfgfile *cf;
	const struct cfgfile_app *app;
	const char *s;
};

struct cfgfile_reader {
	const char *data;
	size_t len;
	size_t off;
	int line;               /* number of the line last handed to inih */
	struct cfgfile *cf;
	struct cfgfile_app *app; /* section being read */
	int sections;           /* section headers seen */
};

struct cfgfile *
cfgfile_create(const char *path)
{
	struct cfgfile *cf;

	cf = xcalloc(1, sizeof *cf);
	cf->path = xstrdup(path);
	hmap_init(&cf->names);
	return cf;
}

void
cfgfile_free(struct cfgfile *cf)
{
	size_t i, j;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->napps; i++) {
		for (j = 0; j < cf->apps[i].nentries; j++) {
			free(cf->apps[i].entries[j].key);
			free(cf->apps[i].entries[j].value);
		}
		free(cf->apps[i].entries);
		free(cf->apps[i].name);
		hmap_free(&cf->apps[i].keys);
	}
	free(cf->apps);
	hmap_free(&cf->names);
	for (i = 0; i < cf->nerrors && i < CFGFILE_MAX_ERRORS; i++)
		free(cf->errs[i].msg);
	free(cf->errs);
	free(cf->path);
	free(cf);
}

/*
 * Records "path:line: message" (line 0: "path: message") for cf. Every
 * error is counted; the first CFGFILE_MAX_ERRORS are kept, so that a file
 * of a million bad lines costs neither time nor memory.
 */
void
cfgfile_error(struct cfgfile *cf, int line, const char *fmt, ...)
{
	struct cfgfile_err *e;
	va_list ap;

	if (cf->nerrors >= CFGFILE_MAX_ERRORS) {
		cf->nerrors++;
		return;
	}
	cf->errs = xreallocarray(cf->errs, cf->nerrors + 1, sizeof *cf->errs);
	e = &cf->errs[cf->nerrors++];
	e->line = line;
	va_start(ap, fmt);
	xvasprintf(&e->msg, fmt, ap);
	va_end(ap);
}

static int
cfgfile_err_cmp(const void *a, const void *b)
{
	const struct cfgfile_err *ea = a, *eb = b;

	if (ea->line != eb->line)
		return ea->line < eb->line ? -1 : 1;
	return ea < eb ? -1 : ea > eb;
}

/*
 * Returns every error of cf, sorted by line, one per line of text, or NULL
 * if there is none. The caller frees.
 */
char *
cfgfile_errors(struct cfgfile *cf)
{
	char *out = NULL, *old;
	size_t i, n = cf->nerrors;

	if (n == 0)
		return NULL;
	if (n > CFGFILE_MAX_ERRORS)
		n = CFGFILE_MAX_ERRORS;
	qsort(cf->errs, n, sizeof *cf->errs, cfgfile_err_cmp);
	for (i = 0; i < n; i++) {
		old = out;
		if (cf->errs[i].line > 0)
			xasprintf(&out, "%s%s%s:%d: %s", old ? old : "",
			    old ? "\n" : "", cf->path, cf->errs[i].line,
			    cf->errs[i].msg);
		else
			xasprintf(&out, "%s%s%s: %s", old ? old : "",
			    old ? "\n" : "", cf->path, cf->errs[i].msg);
		free(old);
	}
	if (cf->nerrors > n) {
		old = out;
		xasprintf(&out, "%s\n%s: %zu more errors not shown", old,
		    cf->path, cf->nerrors - n);
		free(old);
	}
	return out;
}

/*
 * The array a of n elements of size sz, with room for one more: it doubles
 * at each power of two, so that a file of many apps or keys is read in
 * linear time (realloc may copy; ASan's always does).
 */
static void *
cfgfile_grow(void *a, size_t n, size_t sz)
{
	if (n == 0 || (n & (n - 1)) == 0)
		a = xreallocarray(a, n == 0 ? 1 : n * 2, sz);
	return a;
}

static int
cfgfile_is_app(const void *value, const void *arg)
{
	const struct cfgfile_probe *p = arg;

	return strcmp(p->cf->apps[(uintptr_t)value - 1].name, p->s) == 0;
}

static int
cfgfile_is_key(const void *value, const void *arg)
{
	const struct cfgfile_probe *p = arg;

	return strcmp(p->app->entries[(uintptr_t)value - 1].key, p->s) == 0;
}

struct cfgfile_app *
cfgfile_find(struct cfgfile *cf, const char *name)
{
	struct cfgfile_probe p = { cf, NULL, name };
	void *v;

	v = hmap_find(&cf->names, hmap_hash(name), cfgfile_is_app, &p);
	return v != NULL ? &cf->apps[(uintptr_t)v - 1] : NULL;
}

struct cfgfile_app *
cfgfile_add_app(struct cfgfile *cf, const char *name, int line)
{
	struct cfgfile_app *app;

	cf->apps = cfgfile_grow(cf->apps, cf->napps, sizeof *cf->apps);
	app = &cf->apps[cf->napps++];
	memset(app, 0, sizeof *app);
	app->name = xstrdup(name);
	app->line = line;
	hmap_init(&app->keys);
	hmap_add(&cf->names, hmap_hash(name), (void *)(uintptr_t)cf->napps);
	return app;
}

const struct cfgfile_entry *
cfgfile_get(const struct cfgfile_app *app, const char *key)
{
	struct cfgfile_probe p = { NULL, app, key };
	void *v;

	v = hmap_find(&app->keys, hmap_hash(key), cfgfile_is_key, &p);
	return v != NULL ? &app->entries[(uintptr_t)v - 1] : NULL;
}

void
cfgfile_add(struct cfgfile_app *app, const char *key, const char *value,
    int line)
{
	struct cfgfile_entry *e;

	app->entries = cfgfile_grow(app->entries, app->nentries,
	    sizeof *app->entries);
	e = &app->entries[app->nentries++];
	e->key = xstrdup(key);
	e->value = xstrdup(value);
	e->line = line;
	hmap_add(&app->keys, hmap_hash(key), (void *)(uintptr_t)app->nentries);
}

/* Notes a section header seen by the reader; inih does not report them. */
static void
cfgfile_section(struct cfgfile_reader *r, const char *s, size_t len)
{
	const char *end = memchr(s, ']', len);
	char *name, *why = NULL;

	r->app = NULL;
	r->sections++;
	if (end == NULL)
		return;         /* inih reports it */
	name = xstrndup(s + 1, (size_t)(end - s - 1));
	name[strcspn(name, "\r\n")] = '\0';
	while (*name != '\0' && name[strlen(name) - 1] == ' ')
		name[strlen(name) - 1] = '\0';
	if (parse_app_name(name + strspn(name, " "), &why) == -1) {
		cfgfile_error(r->cf, r->line, "%s", why);
		free(why);
	} else if ((r->app = cfgfile_find(r->cf, name + strspn(name, " ")))
	    != NULL) {
		cfgfile_error(r->cf, r->line, "app [%s] already declared at "
		    "line %d", r->app->name, r->app->line);
		r->app = NULL;
	} else
		r->app = cfgfile_add_app(r->cf, name + strspn(name, " "),
		    r->line);
	free(name);
}

/* The ini_reader: one line per call, blanks dropped at the start. */
static char *
cfgfile_read_line(char *str, int num, void *stream)
{
	struct cfgfile_reader *r = stream;
	const char *s, *nl;
	size_t len, skip;

	if (r->off >= r->len)
		return NULL;
	s = r->data + r->off;
	nl = memchr(s, '\n', r->len - r->off);
	len = nl != NULL ? (size_t)(nl - s) + 1 : r->len - r->off;
	r->off += len;
	r->line++;
	/* Never past the line: data need not be NUL-terminated. */
	for (skip = 0; skip < len && (s[skip] == ' ' || s[skip] == '\t');
	    skip++)
		;
	s += skip;
	len -= skip;
	if (memchr(s, '\0', len) != NULL) {
		cfgfile_error(r->cf, r->line, "NUL byte in line");
		len = 0;
	} else if (len + 1 >= (size_t)num) {
		cfgfile_error(r->cf, r->line, "line too long (at most %d "
		    "characters)", num - 2);
		len = 0;
	} else if (len > 0 && s[0] == '[')
		cfgfile_section(r, s, len);
	memcpy(str, s, len);
	str[len] = '\0';
	return str;
}

static int
cfgfile_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct cfgfile_reader *r = user;
	const struct cfgfile_entry *e;
	char *unquoted;
	size_t len;

	(void)section;
	if (r->app == NULL) {
		if (r->sections == 0)
			cfgfile_error(r->cf, r->line, "key '%s' outside of an "
			    "[app] section", key);
		return 1;
	}
	if (*key == '\0') {
		cfgfile_error(r->cf, r->line, "empty key");
		return 1;
	}
	if ((e = cfgfile_get(r->app, key)) != NULL) {
		cfgfile_error(r->cf, r->line, "key '%s' already set at line "
		    "%d", key, e->line);
		return 1;
	}
	len = strlen(value);
	if (strcmp(key, "args") != 0 && len >= 2 &&
	    (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0] &&
	    memchr(value + 1, value[0], len - 2) == NULL) {
		unquoted = xstrndup(value + 1, len - 2);
		cfgfile_add(r->app, key, unquoted, r->line);
		free(unquoted);
	} else
		cfgfile_add(r->app, key, value, r->line);
	return 1;
}

/*
 * Reads all of path (a regular file of at most CFGFILE_MAX_SIZE bytes)
 * into *data, never stalling on a FIFO (safefile.c).
 */
int
cfgfile_slurp(const char *path, char **data, size_t *len, char **cause)
{
	return safefile_read(path, CFGFILE_MAX_SIZE, data, len, cause);
}

/*
 * Parses INI text; shown is the file name used in messages. Returns the
 * apps, with the errors found so far in its errs (more may be added by
 * whoever checks the keys).
 */
static struct cfgfile *
cfgfile_ini(const char *shown, const char *data, size_t len)
{
	struct cfgfile_reader r;
	int rc;

	memset(&r, 0, sizeof r);
	r.data = data;
	r.len = len;
	r.cf = cfgfile_create(shown);
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		r.off = 3;      /* inih would skip the BOM on its own line */
	rc = ini_parse_stream(cfgfile_read_line, &r, cfgfile_handler, &r);
	if (rc > 0)
		cfgfile_error(r.cf, rc, "syntax error: expected '[app]', "
		    "'key = value' or a comment");
	else if (rc < 0)
		cfgfile_error(r.cf, 0, "cannot parse (out of memory)");
	else if (r.cf->napps == 0 && r.cf->nerrors == 0)
		cfgfile_error(r.cf, 0, "no [app] section");
	return r.cf;
}

/*
 * Parses INI text. Returns the apps, or NULL with *cause holding every
 * error, one "file:line: message" per line (the caller frees).
 */
struct cfgfile *
cfgfile_parse_ini(const char *shown, const char *data, size_t len,
    char **cause)
{
	struct cfgfile *cf = cfgfile_ini(shown, data, len);

	if (cf->nerrors > 0) {
		*cause = cfgfile_errors(cf);
		cfgfile_free(cf);
		return NULL;
	}
	return cf;
}

struct cfgfile *
cfgfile_read_ini(const char *path, const char *shown, char **cause)
{
	struct cfgfile *cf;
	char *data;
	size_t len;

	if (cfgfile_slurp(path, &data, &len, cause) != 0)
		return NULL;
	cf = cfgfile_parse_ini(shown, data, len, cause);
	free(data);
	return cf;
}

/*
 * Tells whether a word given to start/reload names a config file rather
 * than a script: 1 for INI (.ini), 2 for a PM2 JSON ecosystem (.json),
 * 3 for a PM2 JavaScript ecosystem (.config.js, .cjs, .mjs: node reads
 * those), else 0.
 */
int
cfgfile_kind(const char *path)
{
	size_t len = strlen(path);

#define ENDS(s) (len > strlen(s) && strcmp(path + len - strlen(s), s) == 0)
	if (ENDS(".ini"))
		return CFGFILE_INI;
	if (ENDS(".json"))
		return CFGFILE_JSON;
	if (ENDS(".config.js") || ENDS(".config.cjs") || ENDS(".config.mjs"))
		return CFGFILE_JS;
#undef ENDS
	return 0;
}

/*
 * Reads an INI or JSON app list, as cfgfile_kind() tells. An INI file's
 * syntax errors are kept in the returned cfgfile (so that the caller can
 * add its own and report them all); NULL with *cause when the file cannot
 * be read or is not JSON of the right shape.
 */
struct cfgfile *
cfgfile_read(const char *path, const char *shown, char **cause)
{
	struct cfgfile *cf;
	char *data;
	size_t len;

	switch (cfgfile_kind(path)) {
	case CFGFILE_JS:
		xasprintf(cause, "%s: a JavaScript ecosystem file is read by "
		    "node (corral-ecosystem.js), not here", shown);
		return NULL;
	case CFGFILE_JSON:
		if (cfgfile_slurp(path, &data, &len, cause) != 0)
			return NULL;
		cf = ecosystem_parse(shown, data, len, cause);
		free(data);
		return cf;
	default:
		if (cfgfile_slurp(path, &data, &len, cause) != 0)
			return NULL;
		cf = cfgfile_ini(shown, data, len);
		free(data);
		return cf;
	}
}

/*
 * Splits an args value into words as a shell would for quoting only:
 * blanks separate words, '...' keeps everything, "..." keeps all but \" and
 * \\ escapes, a backslash outside quotes escapes the next character. No
 * expansion of any kind. Returns a JSON array of strings, or NULL with
 * *cause.
 */
json_t *
cfgfile_split_args(const char *s, char **cause)
{
	json_t *words = json_array();
	char *word = xmalloc(strlen(s) + 1);
	size_t n = 0;
	int in_word = 0;
	char quote = 0;

	for (; *s != '\0'; s++) {
		if (quote == '\'') {
			if (*s == '\'')
				quote = 0;
			else
				word[n++] = *s;
		} else if (quote == '"') {
			if (*s == '"')
				quote = 0;
			else if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				word[n++] = *++s;
			else
				word[n++] = *s;
		} else if (*s == ' ' || *s == '\t') {
			if (in_word) {
				json_array_append_new(words,
				    json_strn(word, n));
				n = 0;
				in_word = 0;
			}
		} else {
			in_word = 1;
			if (*s == '\'' || *s == '"')
				quote = *s;
			else if (*s == '\\' && s[1] != '\0')
				word[n++] = *++s;
			else
				word[n++] = *s;
		}
	}
	if (quote != 0) {
		xasprintf(cause, "unterminated %c quote", quote);
		json_decref(words);
		free(word);
		return NULL;
	}
	if (in_word)
		json_array_append_new(words, json_strn(word, n));
	free(word);
	return words;
}
