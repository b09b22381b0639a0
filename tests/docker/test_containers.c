/*
 * test_containers.c — against the lab engine: negotiation, list filters,
 * inspect, start/stop, exec on a stopped container.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dtest.h"
#include "lab.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

static char name_a[64], name_b[64];

static void
cleanup(void)
{
	if (name_a[0])
		lab_remove(name_a);
	if (name_b[0])
		lab_remove(name_b);
	dt_log_done();
}

Test(docker_int, ping_negotiates_down_to_the_engine)
{
	DockerClient *c = NULL;
	long minor = 0;

	lab_require();
	cr_assert(docker_connect(&c));
	cr_assert(str_has_prefix(docker_api_version(c), "1."));
	cr_assert(str_to_long(docker_api_version(c) + 2, 25, DOCKER_CLIENT_API_MINOR, &minor));
	/* The lab engine is 20.10 (API 1.41): we must not ask for more. */
	cr_assert_leq(minor, 41, "negotiated %s", docker_api_version(c));
	cr_assert_str_eq(docker_endpoint(c), "unix:///var/run/docker.sock");
	docker_disconnect(c);
}

Test(docker_int, unreachable_socket_says_what_to_do, .fini = cleanup)
{
	DockerClient *c = NULL;

	lab_require();
	dt_log_to_temp();
	exit_hint_reset();
	setenv("DOCKER_HOST", "unix:///tmp/pgfold-no-such-dir/docker.sock", 1);
	cr_assert_not(docker_connect(&c));
	cr_assert_eq(exit_hint_get(), EXIT_ENGINE);
	cr_assert(dt_log_contains("cannot reach the Docker engine at "
							  "unix:///tmp/pgfold-no-such-dir/docker.sock: no such socket; "
							  "is dockerd running? (DOCKER_HOST=unix:///tmp/pgfold-no-such-dir/docker.sock)"));
}

Test(docker_int, list_with_label_filter, .fini = cleanup)
{
	DockerClient *c = NULL;
	char tag[64], label[96];
	json_t *list = NULL;

	lab_require();
	lab_unique_name("pgf_dk_list", name_a, sizeof(name_a));
	lab_unique_name("pgf_dk_other", name_b, sizeof(name_b));
	lab_unique_name("t", tag, sizeof(tag));
	cr_assert(dt_start_idle(name_a, tag));
	cr_assert(dt_start_idle(name_b, "someone-else"));
	cr_assert(docker_connect(&c));

	const char *const labels[] = { LAB_LABEL, label, NULL };

	cr_assert(str_format(label, sizeof(label), "pgfold.test.docker=%s", tag));

	DockerFilter f = { .labels = labels, .all = true };

	cr_assert(docker_list_containers(c, &f, &list));
	cr_assert_eq(json_array_size(list), 1, "found %zu", json_array_size(list));

	json_t *names = json_object_get(json_array_get(list, 0), "Names");
	char want[80];

	cr_assert(str_format(want, sizeof(want), "/%s", name_a));
	cr_assert_str_eq(json_string_value(json_array_get(names, 0)), want);
	json_decref(list);

	/* name is a substring match in the engine; both share "pgf_dk_". */
	DockerFilter byname = { .name = name_b, .status = "running" };

	cr_assert(docker_list_containers(c, &byname, &list));
	cr_assert_eq(json_array_size(list), 1);
	json_decref(list);
	docker_disconnect(c);
}

Test(docker_int, inspect_env_labels_running, .fini = cleanup)
{
	DockerClient *c = NULL;
	json_t *doc = NULL;
	bool found = false;
	const char *const env[] = { "POSTGRES_PASSWORD=lab-only-pw", "POSTGRES_DB=appdb",
		"POSTGRES_USER=app", NULL };

	lab_require();
	lab_unique_name("pgf_dk_insp", name_a, sizeof(name_a));
	cr_assert(lab_start_postgres(DT_IMAGE, name_a, env, NULL));
	cr_assert(docker_connect(&c));
	cr_assert(docker_inspect_container(c, name_a, &doc, &found));
	cr_assert(found);
	cr_assert_str_eq(docker_inspect_env(doc, "POSTGRES_DB"), "appdb");
	cr_assert_str_eq(docker_inspect_env(doc, "POSTGRES_USER"), "app");
	cr_assert_null(docker_inspect_env(doc, "POSTGRES"), "prefix of a name is not the name");
	cr_assert_str_eq(docker_inspect_label(doc, "pgfold.test"), "1");
	cr_assert_null(docker_inspect_label(doc, "no.such.label"));
	cr_assert(docker_inspect_running(doc));
	json_decref(doc);

	/* The helper waits for postgres itself. */
	cr_assert(lab_wait_ready(name_a, 60));
	docker_disconnect(c);
}

Test(docker_int, inspect_missing_is_not_an_error, .fini = cleanup)
{
	DockerClient *c = NULL;
	json_t *doc = NULL;
	bool found = true;

	lab_require();
	dt_log_to_temp();
	lab_unique_name("pgf_dk_none", name_a, sizeof(name_a));
	cr_assert(docker_connect(&c));
	cr_assert(docker_inspect_container(c, name_a, &doc, &found));
	cr_assert_not(found);
	cr_assert_null(doc);
	cr_assert_not(docker_inspect_container(c, "bad/name", &doc, &found));
	docker_disconnect(c);
	cr_assert(dt_log_lacks(name_a), "a 404 is not logged");
}

Test(docker_int, stop_start_and_exec_on_stopped, .fini = cleanup)
{
	DockerClient *c = NULL;
	json_t *doc = NULL;
	bool found = false;
	char want[160];

	lab_require();
	dt_log_to_temp();
	lab_unique_name("pgf_dk_life", name_a, sizeof(name_a));
	cr_assert(dt_start_idle(name_a, "life"));
	cr_assert(docker_connect(&c));

	double t0 = dt_now();

	cr_assert(docker_stop_container(c, name_a, 10));
	cr_assert_lt(dt_now() - t0, 8.0, "stop should not wait for the kill timeout");
	cr_assert(docker_stop_container(c, name_a, 10), "stopping a stopped container (304) is fine");
	cr_assert(docker_inspect_container(c, name_a, &doc, &found));
	cr_assert_not(docker_inspect_running(doc));
	json_decref(doc);

	/* exec on a stopped container: 409 with a clear message */
	const char *const cmd[] = { "true", NULL };
	DockerExecSpec spec = { .cmd = cmd };
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;
	int code = 0;

	cr_assert_not(docker_exec_capture(c, name_a, &spec, NULL, 0, 1024, &out, &err, &code));
	cr_assert(str_format(want, sizeof(want), "container %s is not running", name_a));
	cr_assert(dt_log_contains(want));

	cr_assert(docker_start_container(c, name_a));
	cr_assert(docker_start_container(c, name_a), "starting a running container (304) is fine");
	cr_assert(docker_inspect_container(c, name_a, &doc, &found));
	cr_assert(docker_inspect_running(doc));
	json_decref(doc);

	/* missing container: 404 message names it */
	lab_unique_name("pgf_dk_gone", name_b, sizeof(name_b));
	cr_assert_not(docker_stop_container(c, name_b, 1));
	cr_assert(str_format(want, sizeof(want), "no container %s", name_b));
	cr_assert(dt_log_contains(want));
	cr_assert_not(docker_exec_capture(c, name_b, &spec, NULL, 0, 1024, &out, &err, &code));
	sb_free(&out);
	sb_free(&err);
	docker_disconnect(c);
}

static char stubborn[3][64];

static void
remove_stubborn(void)
{
	for (size_t i = 0; i < 3; i++)
		if (stubborn[i][0])
			lab_remove(stubborn[i]);
}

/* Containers whose PID 1 ignores every stop signal, with their own grace
 * periods (what compose sets from stop_grace_period): stopped together,
 * the wait is the longest grace (3 s), not 30 s each nor their sum (7 s). */
Test(docker_int, stop_all_at_once_with_own_grace, .fini = remove_stubborn)
{
	static const int grace[3] = { 2, 2, 3 };
	const char *ids[3];
	DockerClient *c = NULL;

	lab_require();
	for (size_t i = 0; i < 3; i++)
	{
		lab_unique_name("pgf_dk_grace", stubborn[i], sizeof(stubborn[i]));
		cr_assert_eq(lab_sh("docker run -d --network none --label " LAB_LABEL " --name %s "
							"--stop-timeout %d --init=false --entrypoint sleep " DT_IMAGE
							" infinity >/dev/null", stubborn[i], grace[i]), 0);
		ids[i] = stubborn[i];
	}
	cr_assert(docker_connect(&c));
	for (size_t i = 0; i < 3; i++)
	{
		json_t *doc = NULL;
		bool found = false;

		cr_assert(docker_inspect_container(c, ids[i], &doc, &found));
		cr_assert_eq(docker_stop_grace(doc), grace[i]);
		json_decref(doc);
	}

	double t0 = dt_now();

	cr_assert(docker_stop_containers(c, ids, 3));

	double took = dt_now() - t0;

	cr_expect_geq(took, 3.0, "stopped after %.2f s: a grace period was cut short", took);
	cr_expect_lt(took, 6.0, "stopped after %.2f s: one after another, not together", took);
	for (size_t i = 0; i < 3; i++)
	{
		json_t *doc = NULL;
		bool found = false;

		cr_assert(docker_inspect_container(c, ids[i], &doc, &found));
		cr_expect_not(docker_inspect_running(doc), "%s still runs", ids[i]);
		json_decref(doc);
	}
	docker_disconnect(c);
}

Test(docker_unit, stop_grace_from_inspect)
{
	json_t *own = json_pack("{s:{s:i}}", "Config", "StopTimeout", 45);
	json_t *none = json_pack("{s:{}}", "Config");
	json_t *hostile = json_pack("{s:{s:i}}", "Config", "StopTimeout", -5);

	cr_expect_eq(docker_stop_grace(own), 45);
	cr_expect_eq(docker_stop_grace(none), 10, "the engine's default");
	cr_expect_eq(docker_stop_grace(hostile), 10);
	cr_expect_eq(docker_stop_grace(NULL), 10);
	json_decref(own);
	json_decref(none);
	json_decref(hostile);
}
