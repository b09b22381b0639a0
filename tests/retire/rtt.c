/*
 * rtt.c — see rtt.h. Everything through the docker CLI, curl and psql, not
 * through pgfold's modules.
 */
#include "retire/rtt.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

char *
rtt_data_volume(RbtStack *t)
{
	return mig_inspect(mig_name(&t->s, t->sh->db_container),
					   "{{range .Mounts}}{{if eq .Destination \"/var/lib/postgresql/data\"}}"
					   "{{.Name}}{{end}}{{end}}");
}

long long
rtt_engine_volume_size(const char *volume)
{
	StrBuf out = STRBUF_INIT;
	json_t *doc, *v;
	size_t i;
	long long size = -1;

	/* one disk usage at a time: others get 500 meanwhile */
	for (int try = 0; try < 120 && !lab_sh_capture(&out, "curl -sf --unix-socket "
											   "/var/run/docker.sock http://localhost/v1.41/system/df"); try++)
	{
		sb_reset(&out);
		usleep(500 * 1000);
	}
	doc = json_loadb(out.data, out.len, 0, NULL);
	cr_assert_not_null(doc, "GET /system/df: not JSON");
	json_array_foreach(json_object_get(doc, "Volumes"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "Name")), volume) == 0)
			size = json_integer_value(json_object_get(json_object_get(v, "UsageData"), "Size"));
	json_decref(doc);
	sb_free(&out);
	return size;
}

bool
rtt_container_exists(const char *name)
{
	return lab_sh("docker container inspect %s >/dev/null 2>&1", name) == 0;
}

bool
rtt_volume_exists(const char *name)
{
	return lab_sh("docker volume inspect %s >/dev/null 2>&1", name) == 0;
}

pid_t
rtt_session_start(RbtStack *t)
{
	char pwfile[PATH_MAX], sql[256];
	pid_t pid;

	mig_path(&t->s, pwfile, sizeof(pwfile), "etc/.db_passwords/%s.txt", t->sh->db);
	pid = fork();
	cr_assert_geq(pid, 0, "fork");
	if (pid == 0)
	{
		StrBuf out = STRBUF_INIT;

		mig_sql_as(&out, &t->s, t->sh->db, pwfile, t->sh->db, "SELECT pg_sleep(900)");
		_exit(0);
	}
	str_format(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE usename = '%s' "
			   "AND query LIKE '%%pg_sleep%%' AND pid <> pg_backend_pid()", t->sh->db);
	for (int i = 0; i < 120; i++)
	{
		char *n = mig_shared_value(&t->s, "postgres", sql);
		bool seen = strcmp(n, "0") != 0;

		free(n);
		if (seen)
			return pid;
		usleep(250 * 1000);
	}
	cr_assert_fail("the session of \"%s\" never showed in pg_stat_activity", t->sh->db);
	return pid;
}

void
rtt_session_end(pid_t pid)
{
	if (pid > 0)
	{
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}
