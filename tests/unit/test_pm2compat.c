/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of what PM2 users write that corral translates: moment.js
 * date formats into strftime (supervisor/momentfmt.c), options with an
 * optional value such as --watch (common/args.c), and exec_mode and the
 * interpreter's options (supervisor/pm2compat.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "corrald.h"

/* main.c's globals and helpers, which the linked objects refer to. */
struct daemon D;
uint64_t now_ms(void) { return 0; }
uint64_t mono_ms(void) { return 0; }
void daemon_check_shutdown(void) { }
void daemon_shutdown(struct conn *c) { (void)c; }
void daemon_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	(void)h;
	(void)n;
	b->base = NULL;
	b->len = 0;
}

static void
test_moment_formats(void **state)
{
	static const struct {
		const char *moment;
		const char *strf;
	} cases[] = {
		{ "YYYY-MM-DD HH:mm:ss", "%Y-%m-%d %H:%M:%S" },
		{ "YYYY-MM-DDTHH:mm:ss.SSSZ", "%Y-%m-%dT%H:%M:%S.%L%:z" },
		{ "DD/MM/YY hh:mm A ZZ", "%d/%m/%y %I:%M %p %z" },
		{ "[at] H:m:s dddd MMM", "at %-H:%-M:%-S %A %b" },
		{ "x", "%s%L" },
		{ "%Y-%m-%d", "%Y-%m-%d" },             /* corral's own: kept */
		{ "", "" },
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		s = momentfmt_to_strftime(cases[i].moment);
		assert_string_equal(s, cases[i].strf);
		free(s);
	}
}

static void
test_moment_line(void **state)
{
	struct logfmt f;
	char *fmt = momentfmt_to_strftime("YYYY-MM-DD HH:mm:ss.SSS Z");
	char out[128];
	size_t n;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	logfmt_init(&f, LOGFMT_PLAIN, fmt, 1, 0);
	/* 2023-11-14 22:13:20.123 UTC */
	n = logfmt_line(&f, "a", 0, "out", 1700000000123ULL, "hi", 2, out,
	    sizeof out);
	assert_true(n < sizeof out);
	out[n] = '\0';
	assert_string_equal(out, "2023-11-14 22:13:20.123 +00:00 hi\n");
	free(fmt);
}

static const struct args_opt opts[] = {
	{ "watch", 0, ARGS_OPTIONAL, "[PATHS]" },
	{ "name", 'n', ARGS_VALUE, "NAME" },
	{ NULL, 0, 0, NULL },
};

static void
parse(struct args *a, const char *w1, const char *w2, const char *w3)
{
	json_t *argv = json_pack("[s]", w1);
	char *cause = NULL;

	if (w2 != NULL)
		json_array_append_new(argv, json_string(w2));
	if (w3 != NULL)
		json_array_append_new(argv, json_string(w3));
	assert_int_equal(args_parse(opts, argv, a, &cause), 0);
	json_decref(argv);
}

static void
test_optional_value(void **state)
{
	struct args a;

	(void)state;
	parse(&a, "app.js", "--watch", NULL);
	assert_true(json_is_true(json_object_get(a.opts, "watch")));
	assert_string_equal(args_pos(&a, 0), "app.js");
	args_free(&a);
	parse(&a, "--watch", "-n", "x");
	assert_true(json_is_true(json_object_get(a.opts, "watch")));
	assert_string_equal(args_get(&a, "name"), "x");
	args_free(&a);
	parse(&a, "app.js", "--watch", "src");
	assert_string_equal(args_get(&a, "watch"), "src");
	assert_int_equal(args_npos(&a), 1);
	args_free(&a);
	parse(&a, "--watch=lib", "app.js", NULL);
	assert_string_equal(args_get(&a, "watch"), "lib");
	assert_string_equal(args_pos(&a, 0), "app.js");
	args_free(&a);
}

static void
test_exec_mode_and_node_args(void **state)
{
	struct app_config c;
	char *cause = NULL;
	json_t *j;

	(void)state;
	appcfg_init(&c);
	assert_int_equal(appcfg_set_string(&c, "exec_mode", "cluster_mode",
	    &cause), 0);
	assert_string_equal(c.exec_mode, "cluster");
	assert_int_equal(appcfg_set_string(&c, "exec_mode", "prefork",
	    &cause), -1);
	assert_string_equal(cause, "exec_mode: 'prefork' is not fork or cluster");
	free(cause);
	cause = NULL;
	assert_int_equal(appcfg_set_string(&c, "interpreter_args",
	    "--harmony '--title=a b'", &cause), 0);
	assert_int_equal(json_array_size(c.node_args), 2);
	assert_string_equal(json_string_value(json_array_get(c.node_args, 1)),
	    "--title=a b");
	j = json_pack("[s]", "--inspect");
	assert_int_equal(appcfg_set(&c, "node_args", j, &cause), 0);
	json_decref(j);
	assert_int_equal(json_array_size(c.node_args), 1);
	appcfg_free(&c);

	appcfg_init(&c);
	c.instances = 3;
	pm2compat_resolve(&c);
	assert_string_equal(c.exec_mode, "cluster");
	assert_true(pm2compat_cluster(&c));
	assert_string_equal(pm2compat_instance_var(&c), "NODE_APP_INSTANCE");
	c.instance_var = xstrdup("INSTANCE_ID");
	assert_string_equal(pm2compat_instance_var(&c), "INSTANCE_ID");
	appcfg_free(&c);
	appcfg_init(&c);
	pm2compat_resolve(&c);
	assert_string_equal(c.exec_mode, "fork");
	appcfg_free(&c);
}

/* envp as one string, "A=1 B=2 ..." in its order. */
static char *
envp_line(char **envp)
{
	size_t	 n = 1, i;
	char	*s;

	for (i = 0; envp[i] != NULL; i++)
		n += strlen(envp[i]) + 1;
	s = calloc(1, n);
	for (i = 0; envp[i] != NULL; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, envp[i]);
	}
	appcfg_strv_free(envp);
	return s;
}

/*
 * An instance's environment: the captured env, then env_set, then
 * corral's own variables (PM2's instance variable among them), then the
 * caller's extra (null removes), each over the last, in the order of
 * first appearance; values that are not strings are left out.
 */
static void
test_instance_environment(void **state)
{
	struct app_config c;
	json_t *extra;
	char *s;

	(void)state;
	memset(&c, 0, sizeof c);
	c.name = (char *)"web";
	c.env = json_pack("{s:s, s:s, s:s, s:i}", "PATH", "/bin",
	    "CORRAL_ID", "old", "KEEP", "k", "NUM", 3);
	c.env_set = json_pack("{s:s, s:s}", "KEEP", "set", "NEW", "n");
	s = envp_line(appcfg_envp(&c, 2, 7, NULL));
	assert_string_equal(s, "PATH=/bin CORRAL_ID=7 KEEP=set NEW=n "
	    "CORRAL_INSTANCE=2 NODE_APP_INSTANCE=2 CORRAL_APP=web");
	free(s);

	extra = json_pack("{s:n, s:s, s:s, s:n, s:i}", "PATH", "NEW", "x",
	    "LISTEN", "3", "CORRAL_APP", "NUMX", 1);
	c.instance_var = (char *)"CORRAL_ID";   /* the later one wins */
	s = envp_line(appcfg_envp(&c, 2, 7, extra));
	assert_string_equal(s, "CORRAL_ID=7 KEEP=set NEW=x "
	    "CORRAL_INSTANCE=2 LISTEN=3");
	free(s);
	json_decref(extra);

	json_decref(c.env);
	json_decref(c.env_set);
	c.env = c.env_set = NULL;
	s = envp_line(appcfg_envp(&c, 0, 0, NULL));
	assert_string_equal(s, "CORRAL_INSTANCE=0 CORRAL_ID=0 CORRAL_APP=web");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moment_formats),
		cmocka_unit_test(test_moment_line),
		cmocka_unit_test(test_optional_value),
		cmocka_unit_test(test_exec_mode_and_node_args),
		cmocka_unit_test(test_instance_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
