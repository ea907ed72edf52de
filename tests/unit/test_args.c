/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of common/args.c, the option parser the daemon runs over a
 * command's argv: flags, valued and repeated options, "--name=x", "-i -1",
 * "-i4", positional words mixed with options, and the words after "--".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

static const struct args_opt opts[] = {
	{ "name", 'n', ARGS_VALUE, "NAME  app name" },
	{ "instances", 'i', ARGS_VALUE, "N|max  instances" },
	{ "env", 'e', ARGS_LIST, "K=V  environment" },
	{ "update-env", 0, ARGS_FLAG, "replace the env" },
	{ "json", 0, ARGS_FLAG, "print JSON" },
	{ "force", 'f', ARGS_FLAG, "force" },
	{ NULL, 0, 0, NULL },
};

/* Builds a JSON argv from a NULL-terminated list of words. */
static json_t *
argv_of(const char *first, ...)
{
	json_t *a = json_array();
	va_list ap;
	const char *w;

	va_start(ap, first);
	for (w = first; w != NULL; w = va_arg(ap, const char *))
		json_array_append_new(a, json_string(w));
	va_end(ap);
	return a;
}

static void
parse_ok(json_t *argv, struct args *a)
{
	char *cause = NULL;

	if (args_parse(opts, argv, a, &cause) != 0)
		fail_msg("args_parse failed: %s", cause);
	assert_null(cause);
	json_decref(argv);
}

static char *
parse_bad(json_t *argv)
{
	struct args a;
	char *cause = NULL;

	assert_int_equal(args_parse(opts, argv, &a, &cause), -1);
	assert_non_null(cause);
	assert_true(strlen(cause) > 0);
	args_free(&a);
	json_decref(argv);
	return cause;
}

static void
test_args_values_and_positionals(void **state)
{
	struct args a;

	(void)state;
	parse_ok(argv_of("app.js", "--name", "api", "-i", "4", "extra", NULL), &a);
	assert_int_equal(args_npos(&a), 2);
	assert_string_equal(args_pos(&a, 0), "app.js");
	assert_string_equal(args_pos(&a, 1), "extra");
	assert_null(args_pos(&a, 2));
	assert_string_equal(args_get(&a, "name"), "api");
	assert_string_equal(args_get(&a, "instances"), "4");
	assert_true(args_has(&a, "name"));
	assert_false(args_has(&a, "json"));
	assert_null(args_get(&a, "json"));
	assert_int_equal(json_array_size(a.rest), 0);
	args_free(&a);
}

static void
test_args_equals_and_attached(void **state)
{
	struct args a;

	(void)state;
	parse_ok(argv_of("--name=x", "-i4", "--instances=max", "s.sh", NULL), &a);
	assert_string_equal(args_get(&a, "name"), "x");
	/* The last of a repeated valued option wins. */
	assert_string_equal(args_get(&a, "instances"), "max");
	assert_int_equal(args_npos(&a), 1);
	args_free(&a);

	/* "--name=" gives an empty value; "=" inside a value is kept. */
	parse_ok(argv_of("--name=", "--env=A=b=c", NULL), &a);
	assert_string_equal(args_get(&a, "name"), "");
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(a.opts, "env"), 0)), "A=b=c");
	args_free(&a);
}

static void
test_args_negative_numbers(void **state)
{
	struct args a;

	(void)state;
	/* -i takes "-1" as its value, not as an option. */
	parse_ok(argv_of("app.sh", "-i", "-1", NULL), &a);
	assert_string_equal(args_get(&a, "instances"), "-1");
	assert_int_equal(args_npos(&a), 1);
	args_free(&a);
	parse_ok(argv_of("--instances", "-1", NULL), &a);
	assert_string_equal(args_get(&a, "instances"), "-1");
	args_free(&a);
	/* A bare negative number is positional ("scale api -1"). */
	parse_ok(argv_of("api", "-1", NULL), &a);
	assert_int_equal(args_npos(&a), 2);
	assert_string_equal(args_pos(&a, 1), "-1");
	args_free(&a);
	/* "-" alone is positional (stdin, by convention). */
	parse_ok(argv_of("-", NULL), &a);
	assert_int_equal(args_npos(&a), 1);
	assert_string_equal(args_pos(&a, 0), "-");
	args_free(&a);
}

static void
test_args_lists_and_flags(void **state)
{
	struct args a;
	json_t *env;

	(void)state;
	parse_ok(argv_of("--env", "A=1", "-e", "B=2", "--update-env", "--env=C=3",
	    "-f", "--json", NULL), &a);
	env = json_object_get(a.opts, "env");
	assert_true(json_is_array(env));
	assert_int_equal(json_array_size(env), 3);
	assert_string_equal(json_string_value(json_array_get(env, 0)), "A=1");
	assert_string_equal(json_string_value(json_array_get(env, 1)), "B=2");
	assert_string_equal(json_string_value(json_array_get(env, 2)), "C=3");
	assert_true(args_has(&a, "update-env"));
	assert_true(json_is_true(json_object_get(a.opts, "update-env")));
	assert_true(args_has(&a, "force"));
	assert_true(args_has(&a, "json"));
	assert_int_equal(args_npos(&a), 0);
	args_free(&a);
}

static void
test_args_rest(void **state)
{
	struct args a;

	(void)state;
	parse_ok(argv_of("app.sh", "--name", "a", "--", "one", "--name", "-i",
	    "--", "two words", NULL), &a);
	assert_string_equal(args_get(&a, "name"), "a");
	assert_int_equal(args_npos(&a), 1);
	assert_int_equal(json_array_size(a.rest), 5);
	assert_string_equal(json_string_value(json_array_get(a.rest, 0)), "one");
	assert_string_equal(json_string_value(json_array_get(a.rest, 1)), "--name");
	assert_string_equal(json_string_value(json_array_get(a.rest, 2)), "-i");
	assert_string_equal(json_string_value(json_array_get(a.rest, 3)), "--");
	assert_string_equal(json_string_value(json_array_get(a.rest, 4)),
	    "two words");
	args_free(&a);

	/* "--" last: an empty rest; the value of an option may be "--"-like. */
	parse_ok(argv_of("x", "--", NULL), &a);
	assert_int_equal(json_array_size(a.rest), 0);
	assert_int_equal(args_npos(&a), 1);
	args_free(&a);
	parse_ok(argv_of("--name", "--", NULL), &a);
	assert_string_equal(args_get(&a, "name"), "--");
	args_free(&a);
}

static void
test_args_empty(void **state)
{
	struct args a;
	char *cause = NULL;

	(void)state;
	parse_ok(json_array(), &a);
	assert_int_equal(args_npos(&a), 0);
	assert_int_equal(json_object_size(a.opts), 0);
	args_free(&a);
	/* A NULL argv is an empty one. */
	assert_int_equal(args_parse(opts, NULL, &a, &cause), 0);
	assert_int_equal(args_npos(&a), 0);
	args_free(&a);
}

static void
test_args_errors(void **state)
{
	json_t *mixed;
	char *cause;

	(void)state;
	cause = parse_bad(argv_of("--nope", NULL));
	assert_non_null(strstr(cause, "--nope"));
	free(cause);
	cause = parse_bad(argv_of("--nope=3", NULL));
	assert_non_null(strstr(cause, "--nope"));
	assert_null(strstr(cause, "=3"));
	free(cause);
	cause = parse_bad(argv_of("-z", NULL));
	assert_non_null(strstr(cause, "-z"));
	free(cause);
	/* A value missing at the end. */
	cause = parse_bad(argv_of("app", "--name", NULL));
	assert_non_null(strstr(cause, "name"));
	free(cause);
	free(parse_bad(argv_of("-i", NULL)));
	/* A flag given a value. */
	free(parse_bad(argv_of("--json=yes", NULL)));
	free(parse_bad(argv_of("-fx", NULL)));
	/* argv must be an array of strings. */
	free(parse_bad(json_string("start")));
	free(parse_bad(json_object()));
	mixed = argv_of("a", NULL);
	json_array_append_new(mixed, json_integer(3));
	free(parse_bad(mixed));
	mixed = argv_of("--name", NULL);
	json_array_append_new(mixed, json_null());
	free(parse_bad(mixed));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_values_and_positionals),
		cmocka_unit_test(test_args_equals_and_attached),
		cmocka_unit_test(test_args_negative_numbers),
		cmocka_unit_test(test_args_lists_and_flags),
		cmocka_unit_test(test_args_rest),
		cmocka_unit_test(test_args_empty),
		cmocka_unit_test(test_args_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
