// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: fault injection for the test suites (built with RODP_INJECT=y).
 *
 * Each injection point is a countdown in debugfs, under
 * /sys/kernel/debug/rodp/inject/:
 *   <point>        write N > 0: the Nth time the point is passed from now
 *                  on, it fails (once); 0 disarms it.  Reads what is left.
 *   <point>_delay  milliseconds the point sleeps before it fails, where it
 *                  may sleep: a window for the tests to send packets into.
 *   <point>_hits   failures injected at the point since the module loaded.
 * The points (enum rodp_inject_point) say what their failure means.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>

#include "rodp.h"

static const char *const rodp_inject_names[RODP_INJ_MAX] = {
	[RODP_INJ_ODP_FAULT] = "odp_fault",
	[RODP_INJ_CREATE_QP] = "create_qp",
	[RODP_INJ_ODP_BUSY] = "odp_busy",
};

struct rodp_inject_point_state {
	atomic_t countdown;
	u32 delay_ms;
	atomic_t hits;
};

static struct rodp_inject_point_state rodp_inject_state[RODP_INJ_MAX];
static struct dentry *rodp_inject_dir;

/**
 * rodp_inject - should injection point @p fail now
 * @p: the point
 *
 * Any context.  Counts the pass down; the pass that brings the countdown
 * from 1 to 0 fails.
 *
 * Return: true when the caller must fail as the point describes.
 */
bool rodp_inject(enum rodp_inject_point p)
{
	struct rodp_inject_point_state *s = &rodp_inject_state[p];

	if (likely(!atomic_read(&s->countdown)))
		return false;
	if (!atomic_add_unless(&s->countdown, -1, 0) ||
	    atomic_read(&s->countdown))
		return false;
	atomic_inc(&s->hits);
	return true;
}

/**
 * rodp_inject_sleep - sleep for injection point @p's delay
 * @p: the point, which has just failed (rodp_inject() returned true)
 *
 * Process context.
 */
void rodp_inject_sleep(enum rodp_inject_point p)
{
	u32 ms = READ_ONCE(rodp_inject_state[p].delay_ms);

	might_sleep();
	if (ms)
		msleep(min_t(u32, ms, 10000));
}

/**
 * rodp_inject_init - create the debugfs files (module init)
 */
void rodp_inject_init(void)
{
	struct dentry *dir;
	char name[32];
	int i;

	dir = debugfs_create_dir("inject", rodp_debugfs_root);
	rodp_inject_dir = dir;
	for (i = 0; i < RODP_INJ_MAX; i++) {
		struct rodp_inject_point_state *s = &rodp_inject_state[i];

		debugfs_create_atomic_t(rodp_inject_names[i], 0600, dir,
					&s->countdown);
		snprintf(name, sizeof(name), "%s_delay", rodp_inject_names[i]);
		debugfs_create_u32(name, 0600, dir, &s->delay_ms);
		snprintf(name, sizeof(name), "%s_hits", rodp_inject_names[i]);
		debugfs_create_atomic_t(name, 0400, dir, &s->hits);
	}
}

/**
 * rodp_inject_exit - remove the debugfs files (module exit)
 */
void rodp_inject_exit(void)
{
	debugfs_remove(rodp_inject_dir);
}
