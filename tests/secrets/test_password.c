/*
 * test_password.c — password generation and role-name validation.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/secrets.h"

static bool
in_alphabet(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

Test(secrets_password, length_and_alphabet)
{
	char pw[SECRETS_PASSWORD_LEN + 1];

	for (int i = 0; i < 2000; i++)
	{
		memset(pw, 'x', sizeof(pw));
		cr_assert(secrets_generate_password(pw));
		cr_assert_eq(strlen(pw), 32);
		for (int j = 0; j < 32; j++)
			cr_assert(in_alphabet(pw[j]), "bad char 0x%02x", (unsigned char) pw[j]);
	}
}

static int
cmp_pw(const void *a, const void *b)
{
	return strcmp((const char *) a, (const char *) b);
}

Test(secrets_password, unique_over_many_draws)
{
	enum { N = 5000 };
	char (*pws)[SECRETS_PASSWORD_LEN + 1] = calloc(N, SECRETS_PASSWORD_LEN + 1);

	for (int i = 0; i < N; i++)
		cr_assert(secrets_generate_password(pws[i]));
	qsort(pws, N, SECRETS_PASSWORD_LEN + 1, cmp_pw);
	for (int i = 1; i < N; i++)
		cr_assert_str_neq(pws[i - 1], pws[i]);
	free(pws);
}

/* 62 symbols, 200000 draws * 32 = 6.4M symbols: each should appear ~103k
 * times; a modulo-biased generator (256 % 62 = 8) would put the first 8
 * symbols ~25% above the rest. Bounds are > 10 sigma wide. */
Test(secrets_password, symbols_are_uniform)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	long counts[256] = { 0 };
	char pw[SECRETS_PASSWORD_LEN + 1];
	const long draws = 200000;

	for (long i = 0; i < draws; i++)
	{
		cr_assert(secrets_generate_password(pw));
		for (int j = 0; j < 32; j++)
			counts[(unsigned char) pw[j]]++;
	}
	double expect = (double) draws * 32 / 62;

	for (int k = 0; k < 62; k++)
	{
		double c = (double) counts[(unsigned char) alphabet[k]];

		cr_assert(c > expect * 0.97 && c < expect * 1.03,
				  "symbol %c: %.0f draws, expected ~%.0f", alphabet[k], c, expect);
	}
}

Test(secrets_roles, valid_names)
{
	cr_assert(secrets_role_name_valid("docmost"));
	cr_assert(secrets_role_name_valid("netbox_user"));
	cr_assert(secrets_role_name_valid("My-App.2"));
	cr_assert(secrets_role_name_valid("_x"));
	/* 63 bytes: NAMEDATALEN - 1 */
	cr_assert(secrets_role_name_valid(
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc"));
}

Test(secrets_roles, hostile_names_refused)
{
	const char *bad[] = {
		"", ".", "..", "../etc", "..x", "a/b", "/etc/passwd", "x/..",
		"x\"; DROP DATABASE y; --", "a b", "a\nb", "a\tb", "-rf", ".hidden",
		"a..b", "rôle", "a'b", "a$b", "a\\b", "a:b", "a@b",
		/* 64 bytes */
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd",
		NULL
	};

	for (int i = 0; bad[i]; i++)
		cr_assert_not(secrets_role_name_valid(bad[i]), "accepted \"%s\"", bad[i]);
	cr_assert_not(secrets_role_name_valid(NULL));
}

Test(secrets_roles, path_refuses_invalid_role)
{
	char path[4096];

	cr_assert(secrets_password_path("/srv/stack", "docmost", path, sizeof(path)));
	cr_assert_str_eq(path, "/srv/stack/etc/.db_passwords/docmost.txt");
	cr_assert_not(secrets_password_path("/srv/stack", "../../etc/shadow", path, sizeof(path)));
	cr_assert_not(secrets_password_path("/srv/stack", "x\"; DROP DATABASE y; --",
										path, sizeof(path)));
}

Test(secrets_roles, invalid_name_is_logged_escaped)
{
	char path[256];

	cr_redirect_stderr();
	cr_assert_not(secrets_password_path("/r", "a\nb\\c\x01", path, sizeof(path)));
	fflush(stderr);
	cr_assert_stderr_eq_str("pgfold: error: role name \"a\\x0ab\\x5cc\\x01\" cannot name a "
							"password file: use 1-63 characters of A-Z a-z 0-9 _ . -, not "
							"starting with '.' or '-', without \"..\"\n");
}
