// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * 24-bit PSN arithmetic: hand-picked cases at the wrap and at the window
 * edge, then every PSN of the 2^24 space against a few expected PSNs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rcore/psn.h>

#define MOD	0x1000000
#define HALF	0x800000

static void test_add(void **state)
{
	assert_int_equal(rcore_psn_add(0, 1), 1);
	assert_int_equal(rcore_psn_add(0xffffff, 1), 0);
	assert_int_equal(rcore_psn_add(0xfffffe, 5), 3);
	assert_int_equal(rcore_psn_add(0, -1), 0xffffff);
	assert_int_equal(rcore_psn_add(2, -5), 0xfffffd);
	assert_int_equal(rcore_psn_add(0x123456, MOD), 0x123456);
	/* bits above 24 in the input are dropped */
	assert_int_equal(rcore_psn_add(0xff000001, 0), 1);
}

static void test_diff_cases(void **state)
{
	assert_int_equal(rcore_psn_diff(5, 5), 0);
	assert_int_equal(rcore_psn_diff(0, 0xffffff), 1);
	assert_int_equal(rcore_psn_diff(0xffffff, 0), -1);
	assert_int_equal(rcore_psn_diff(2, 0xfffffe), 4);
	assert_int_equal(rcore_psn_diff(0xfffffe, 2), -4);
	/* the window edge: exactly half way counts as behind */
	assert_int_equal(rcore_psn_diff(HALF, 0), -HALF);
	assert_int_equal(rcore_psn_diff(0, HALF), -HALF);
	assert_int_equal(rcore_psn_diff(HALF - 1, 0), HALF - 1);
	assert_int_equal(rcore_psn_diff(HALF + 1, 0), -(HALF - 1));
	assert_int_equal(rcore_psn_diff(0x7fffff, 0xffffff), -HALF);
	assert_int_equal(rcore_psn_diff(0x7ffffe, 0xffffff), HALF - 1);
}

static void test_order_cases(void **state)
{
	assert_true(rcore_psn_before(0xffffff, 0));
	assert_true(rcore_psn_after(0, 0xffffff));
	assert_false(rcore_psn_before(0, 0xffffff));
	assert_false(rcore_psn_before(7, 7));
	assert_false(rcore_psn_after(7, 7));
	assert_int_equal(rcore_psn_cmp(0xfffff0, 0x10), -1);
	assert_int_equal(rcore_psn_cmp(0x10, 0xfffff0), 1);
	assert_int_equal(rcore_psn_cmp(0x10, 0x10), 0);
	assert_true(rcore_psn_in_range(0, 0xfffffe, 2));
	assert_true(rcore_psn_in_range(0xfffffe, 0xfffffe, 2));
	assert_true(rcore_psn_in_range(2, 0xfffffe, 2));
	assert_false(rcore_psn_in_range(3, 0xfffffe, 2));
	assert_false(rcore_psn_in_range(0xfffffd, 0xfffffe, 2));
}

static void test_classify_cases(void **state)
{
	assert_int_equal(rcore_psn_classify(0, 0), RCORE_PSN_NEW);
	assert_int_equal(rcore_psn_classify(0, 0xffffff), RCORE_PSN_DUPLICATE);
	assert_int_equal(rcore_psn_classify(0, 1), RCORE_PSN_OUT_OF_SEQ);
	assert_int_equal(rcore_psn_classify(0xffffff, 0), RCORE_PSN_OUT_OF_SEQ);
	assert_int_equal(rcore_psn_classify(0xffffff, 0xfffffe),
			 RCORE_PSN_DUPLICATE);
	assert_int_equal(rcore_psn_classify(0, HALF), RCORE_PSN_DUPLICATE);
	assert_int_equal(rcore_psn_classify(0, HALF - 1), RCORE_PSN_OUT_OF_SEQ);
	assert_int_equal(rcore_psn_classify(0, HALF + 1), RCORE_PSN_DUPLICATE);
	assert_int_equal(rcore_psn_classify(3, 0xfffffa), RCORE_PSN_DUPLICATE);
}

/*
 * Reference, written differently from the library: @a is behind @b when
 * walking forward from @a reaches @b in 1..2^23 steps.
 */
static int ref_behind(uint32_t a, uint32_t b)
{
	uint32_t steps = (b + MOD - a) % MOD;

	return steps >= 1 && steps <= HALF;
}

static void test_exhaustive(void **state)
{
	static const uint32_t bases[] = {
		0, 1, 2, HALF - 1, HALF, HALF + 1, 0xfffffe, 0xffffff,
		0x123456,
	};
	unsigned int i;
	uint32_t e, p;
	int32_t d;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		e = bases[i];
		for (p = 0; p < MOD; p++) {
			d = rcore_psn_diff(p, e);
			/* in the window, and consistent with add */
			if (d < -HALF || d >= HALF)
				fail_msg("diff(%u, %u) = %d", p, e, d);
			if (rcore_psn_add(e, d) != p)
				fail_msg("add(%u, diff) != %u", e, p);
			if (rcore_psn_before(p, e) != ref_behind(p, e))
				fail_msg("before(%u, %u)", p, e);
			if (rcore_psn_after(p, e) !=
			    (p != e && !ref_behind(p, e)))
				fail_msg("after(%u, %u)", p, e);
			switch (rcore_psn_classify(e, p)) {
			case RCORE_PSN_NEW:
				if (p != e)
					fail_msg("NEW %u for %u", p, e);
				break;
			case RCORE_PSN_DUPLICATE:
				if (!ref_behind(p, e))
					fail_msg("DUP %u for %u", p, e);
				break;
			case RCORE_PSN_OUT_OF_SEQ:
				if (p == e || ref_behind(p, e))
					fail_msg("OOS %u for %u", p, e);
				break;
			default:
				fail_msg("bad class");
			}
		}
	}
}

static void test_add_diff_inverse(void **state)
{
	uint32_t base = 0xfff000;
	int32_t n;

	/* add then diff gives back n, for every n in the window */
	for (n = -HALF; n < HALF; n += 97)
		assert_int_equal(rcore_psn_diff(rcore_psn_add(base, n), base),
				 n);
	assert_int_equal(rcore_psn_diff(rcore_psn_add(base, HALF - 1), base),
			 HALF - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_diff_cases),
		cmocka_unit_test(test_order_cases),
		cmocka_unit_test(test_classify_cases),
		cmocka_unit_test(test_exhaustive),
		cmocka_unit_test(test_add_diff_inverse),
	};

	return cmocka_run_group_tests_name("rcore psn", tests, NULL, NULL);
}
