/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the config file readers: corral.ini syntax (every error
 * with its line), PM2 ecosystem JSON, and the args splitter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

static struct cfgfile *
ini(const char *text, char **cause)
{
	*cause = NULL;
	return cfgfile_parse_ini("t.ini", text, strlen(text), cause);
}

/* Asserts that text fails with exactly the message expect. */
static void
ini_fails(const char *text, const char *expect)
{
	char *cause;
	struct cfgfile *cf = ini(text, &cause);

	if (cf != NULL || cause == NULL || strcmp(cause, expect) != 0) {
		print_error("input:\n%s\nexpected: %s\ngot: %s\n", text, expect,
		    cause ? cause : "(success)");
		cfgfile_free(cf);
		free(cause);
		fail();
	}
	free(cause);
}

static const char *
value(const struct cfgfile_app *app, const char *key)
{
	const struct cfgfile_entry *e = cfgfile_get(app, key);

	return e ? e->value : NULL;
}

static void
test_ini_ok(void **state)
{
	char *cause;
	struct cfgfile *cf;
	const struct cfgfile_entry *e;

	(void)state;
	cf = ini("\xef\xbb\xbf; corral apps\n"
	    "# another comment\n"
	    "\n"
	    "[api]\n"
	    "script = server.js\n"
	    "  instances = max\n"
	    "env.PORT = 3000\n"
	    "env_production.NODE_ENV = \"production\"\n"
	    "args = --name \"a b\"   ; comment\n"
	    "\n"
	    "[worker-2]\n"
	    "script=work.py\n"
	    "max_memory = 512M\n", &cause);
	if (cf == NULL)
		print_error("%s\n", cause);
	assert_non_null(cf);
	assert_int_equal(cf->napps, 2);
	assert_string_equal(cf->apps[0].name, "api");
	assert_int_equal(cf->apps[0].line, 4);
	assert_string_equal(value(&cf->apps[0], "script"), "server.js");
	assert_string_equal(value(&cf->apps[0], "instances"), "max");
	e = cfgfile_get(&cf->apps[0], "instances");
	assert_int_equal(e->line, 6);
	assert_string_equal(value(&cf->apps[0], "env.PORT"), "3000");
	assert_string_equal(value(&cf->apps[0], "env_production.NODE_ENV"),
	    "production");
	assert_string_equal(value(&cf->apps[0], "args"), "--name \"a b\"");
	assert_string_equal(cf->apps[1].name, "worker-2");
	assert_int_equal(cf->apps[1].line, 11);
	assert_string_equal(value(&cf->apps[1], "max_memory"), "512M");
	assert_null(value(&cf->apps[1], "env.PORT"));
	cfgfile_free(cf);
}

static void
test_ini_errors(void **state)
{
	char longline[400];

	(void)state;
	ini_fails("", "t.ini: no [app] section");
	ini_fails("; nothing\n", "t.ini: no [app] section");
	ini_fails("script = a\n[a]\nscript = b\n",
	    "t.ini:1: key 'script' outside of an [app] section");
	ini_fails("[a]\nscript = a\n\nscript = b\n",
	    "t.ini:4: key 'script' already set at line 2");
	ini_fails("[a]\nscript = a\n[b]\nscript = b\n[a]\nscript = c\n",
	    "t.ini:5: app [a] already declared at line 1");
	ini_fails("[a]\nscript = a\njunk\n",
	    "t.ini:3: syntax error: expected '[app]', 'key = value' or a "
	    "comment");
	ini_fails("[a\nscript = a\n",
	    "t.ini:1: syntax error: expected '[app]', 'key = value' or a "
	    "comment");
	ini_fails("[a b]\nscript = a\n",
	    "t.ini:1: invalid name 'a b': 1 to 64 letters, digits and "
	    ". _ - @ +, not starting with . or -, not a number nor 'all'");
	ini_fails("[42]\nscript = a\n",
	    "t.ini:1: invalid name '42': 1 to 64 letters, digits and "
	    ". _ - @ +, not starting with . or -, not a number nor 'all'");
	ini_fails("[.hid]\nscript = a\n",
	    "t.ini:1: invalid name '.hid': 1 to 64 letters, digits and "
	    ". _ - @ +, not starting with . or -, not a number nor 'all'");
	ini_fails("[all]\nscript = a\n",
	    "t.ini:1: invalid name 'all': 1 to 64 letters, digits and "
	    ". _ - @ +, not starting with . or -, not a number nor 'all'");
	ini_fails("[a]\n = x\n", "t.ini:2: empty key");
	memset(longline, 'x', sizeof longline);
	memcpy(longline, "[a]\nargs = ", 11);
	strcpy(longline + sizeof longline - 2, "\n");
	ini_fails(longline, "t.ini:2: line too long (at most 198 characters)");
	/* every error is reported, in line order */
	ini_fails("[a]\nscript = a\nscript = b\n[a]\n[b!]\nx = 1\n",
	    "t.ini:3: key 'script' already set at line 2\n"
	    "t.ini:4: app [a] already declared at line 1\n"
	    "t.ini:5: invalid name 'b!': 1 to 64 letters, digits and "
	    ". _ - @ +, not starting with . or -, not a number nor 'all'");
}

static void
test_ini_nul(void **state)
{
	static const char text[] = "[a]\nscript = a\0b\n";
	char *cause = NULL;
	struct cfgfile *cf;

	(void)state;
	cf = cfgfile_parse_ini("t.ini", text, sizeof text - 1, &cause);
	assert_null(cf);
	assert_string_equal(cause, "t.ini:2: NUL byte in line");
	free(cause);
}

/*
 * A config file as big as the daemon reads (CFGFILE_MAX_SIZE) of 200,000
 * lines is parsed in one pass: every error counted but the first
 * CFGFILE_MAX_ERRORS kept, duplicates of a key or of a section found by
 * index (these ran in quadratic time and froze the daemon's loop for
 * minutes: a finding of tests/fuzz/fuzz_ini.c).
 */
#define BIG_LINES 200000

static char *
big_text(const char *head, int sections)
{
	char *text = xmalloc(CFGFILE_MAX_SIZE), *p = text;
	int i;

	p += sprintf(p, "%s", head);
	for (i = 0; i < BIG_LINES; i++)
		p += sections ? sprintf(p, "[a%d]\n", i) :
		    sprintf(p, "k%d = 1\n", i);
	assert_true((size_t)(p - text) < CFGFILE_MAX_SIZE);
	return text;
}

static void
test_ini_big(void **state)
{
	struct cfgfile *cf;
	char *text, *cause, *last;

	(void)state;
	text = big_text("", 0);
	cf = ini(text, &cause);
	assert_null(cf);
	assert_non_null(strstr(cause, "t.ini:1: key 'k0' outside of an [app] "
	    "section\n"));
	assert_non_null(strstr(cause, "t.ini:100: key 'k99' outside"));
	assert_null(strstr(cause, "'k100'"));
	last = strrchr(cause, '\n');
	assert_string_equal(last, "\nt.ini: 199900 more errors not shown");
	free(cause);
	free(text);

	text = big_text("[a]\nk0 = again\n", 0);
	cf = ini(text, &cause);
	assert_null(cf);
	assert_string_equal(cause, "t.ini:3: key 'k0' already set at line 2");
	free(cause);
	free(text);

	text = big_text("[a]\n", 0);
	cf = ini(text, &cause);
	assert_non_null(cf);
	assert_int_equal(cf->apps[0].nentries, BIG_LINES);
	assert_int_equal(cfgfile_get(&cf->apps[0], "k199999")->line,
	    BIG_LINES + 1);
	assert_null(cfgfile_get(&cf->apps[0], "k200000"));
	cfgfile_free(cf);
	free(text);

	text = big_text("", 1);
	strcat(text, "[a123456]\n");
	cf = ini(text, &cause);
	assert_null(cf);
	assert_string_equal(cause, "t.ini:200001: app [a123456] already "
	    "declared at line 123457");
	free(cause);
	free(text);
}

static void
test_kind(void **state)
{
	(void)state;
	assert_int_equal(cfgfile_kind("corral.ini"), CFGFILE_INI);
	assert_int_equal(cfgfile_kind("/x/ecosystem.json"), CFGFILE_JSON);
	assert_int_equal(cfgfile_kind("pm2.config.json"), CFGFILE_JSON);
	assert_int_equal(cfgfile_kind("ecosystem.config.js"), CFGFILE_JS);
	assert_int_equal(cfgfile_kind("server.js"), 0);
	assert_int_equal(cfgfile_kind(".ini"), 0);
}

static void
split_is(const char *in, int n, ...)
{
	char *cause = NULL;
	json_t *w = cfgfile_split_args(in, &cause);
	va_list ap;
	int i;

	assert_non_null(w);
	assert_int_equal(json_array_size(w), n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(w, i)),
		    va_arg(ap, const char *));
	va_end(ap);
	json_decref(w);
}

static void
test_split(void **state)
{
	char *cause = NULL;

	(void)state;
	split_is("", 0);
	split_is("  a  b ", 2, "a", "b");
	split_is("--name \"a b\" 'c d' e\\ f", 4, "--name", "a b", "c d",
	    "e f");
	split_is("\"x\\\"y\" 'it'\\''s' ''", 3, "x\"y", "it's", "");
	split_is("a\"b c\"d", 1, "ab cd");
	assert_null(cfgfile_split_args("'open", &cause));
	assert_string_equal(cause, "unterminated ' quote");
	free(cause);
}

static struct cfgfile *
eco(const char *text, char **cause)
{
	*cause = NULL;
	return ecosystem_parse("e.json", text, strlen(text), cause);
}

static void
test_ecosystem(void **state)
{
	char *cause;
	struct cfgfile *cf;

	(void)state;
	/* as written by `pm2 init simple` and PM2's documentation */
	cf = eco("{\n"
	    "  \"apps\": [{\n"
	    "    \"name\": \"api\",\n"
	    "    \"script\": \"./server.js\",\n"
	    "    \"args\": [\"--port\", \"3000\", \"it's\"],\n"
	    "    \"instances\": 4,\n"
	    "    \"exec_mode\": \"cluster\",\n"
	    "    \"autorestart\": true,\n"
	    "    \"watch\": [\"src\", \"conf\"],\n"
	    "    \"ignore_watch\": [\"node_modules\"],\n"
	    "    \"max_memory_restart\": \"1G\",\n"
	    "    \"restart_delay\": 3000,\n"
	    "    \"stop_exit_codes\": [0, 3],\n"
	    "    \"interpreter\": \"node\",\n"
	    "    \"uid\": \"nobody\",\n"
	    "    \"env\": { \"NODE_ENV\": \"development\", \"N\": 1 },\n"
	    "    \"env_production\": { \"NODE_ENV\": \"production\" }\n"
	    "  }, {\n"
	    "    \"script\": \"lib/worker.py\",\n"
	    "    \"cron_restart\": \"0 3 * * *\",\n"
	    "    \"source_map_support\": null\n"
	    "  }],\n"
	    "  \"deploy\": {}\n"
	    "}\n", &cause);
	if (cf == NULL)
		print_error("%s\n", cause);
	assert_non_null(cf);
	assert_true(cf->lenient);
	assert_int_equal(cf->napps, 2);
	assert_string_equal(cf->apps[0].name, "api");
	assert_string_equal(value(&cf->apps[0], "script"), "./server.js");
	assert_string_equal(value(&cf->apps[0], "args"),
	    "'--port' '3000' 'it'\\''s'");
	assert_string_equal(value(&cf->apps[0], "instances"), "4");
	assert_string_equal(value(&cf->apps[0], "exec_mode"), "cluster");
	assert_string_equal(value(&cf->apps[0], "autorestart"), "true");
	assert_string_equal(value(&cf->apps[0], "watch"), "src,conf");
	assert_string_equal(value(&cf->apps[0], "max_memory_restart"), "1G");
	assert_string_equal(value(&cf->apps[0], "restart_delay"), "3000ms");
	assert_string_equal(value(&cf->apps[0], "stop_exit_codes"), "0,3");
	assert_string_equal(value(&cf->apps[0], "exec_interpreter"), "node");
	assert_string_equal(value(&cf->apps[0], "user"), "nobody");
	assert_string_equal(value(&cf->apps[0], "env.NODE_ENV"),
	    "development");
	assert_string_equal(value(&cf->apps[0], "env.N"), "1");
	assert_string_equal(value(&cf->apps[0], "env_production.NODE_ENV"),
	    "production");
	assert_string_equal(cf->apps[1].name, "worker");
	assert_string_equal(value(&cf->apps[1], "cron_restart"), "0 3 * * *");
	assert_null(value(&cf->apps[1], "source_map_support"));
	cfgfile_free(cf);

	cf = eco("[{\"script\": \"a.js\"}]", &cause);
	assert_non_null(cf);
	assert_string_equal(cf->apps[0].name, "a");
	cfgfile_free(cf);
}

static void
eco_fails(const char *text, const char *expect)
{
	char *cause;
	struct cfgfile *cf = eco(text, &cause);

	if (cf != NULL || cause == NULL || strcmp(cause, expect) != 0) {
		print_error("expected: %s\ngot: %s\n", expect,
		    cause ? cause : "(success)");
		cfgfile_free(cf);
		free(cause);
		fail();
	}
	free(cause);
}

static void
test_ecosystem_errors(void **state)
{
	(void)state;
	eco_fails("{\"apps\": [\n{\"name\": \"a\",}]}",
	    "e.json:2: string or '}' expected near '}'");
	eco_fails("{\"apps\": 3}", "e.json: no \"apps\" array");
	eco_fails("{\"apps\": []}", "e.json: no apps");
	eco_fails("{\"apps\": [1, {\"args\": \"x\"}]}",
	    "e.json: apps[0] is not an object\n"
	    "e.json: apps[1] has neither name nor script");
	eco_fails("{\"apps\": [{\"script\": \"a.js\"}, {\"name\": \"a\"}]}",
	    "e.json: apps[1]: app 'a' declared twice");
	eco_fails("{\"apps\": [{\"name\": \"a\", \"env\": 1}]}",
	    "e.json: app 'a': env is not an object");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ini_ok),
		cmocka_unit_test(test_ini_errors),
		cmocka_unit_test(test_ini_nul),
		cmocka_unit_test(test_ini_big),
		cmocka_unit_test(test_kind),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_ecosystem),
		cmocka_unit_test(test_ecosystem_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
