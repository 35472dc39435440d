// SPDX-License-Identifier: GPL-2.0
/*
 * rodp_provoke: make the kernel print the reports tests/vm/logcheck must
 * catch, so that its samples are real kernel output (Debian's 6.1 kernel
 * has no LKDTM).  Write a word to /sys/kernel/debug/rodp_provoke:
 *
 *   warning     WARN()
 *   bug         BUG()
 *   oops        write through a NULL pointer
 *   gpf         read through a non-canonical pointer
 *   softlockup  spin 16 s with preemption off (set watchdog_thresh=5 first)
 *   rcustall    spin 8 s in an RCU read section (lower the stall timeout)
 *   hung        sleep 15 s uninterruptibly (lower hung_task_timeout_secs)
 *
 * and on a kernel built with the checkers (scripts/debugkernel.sh):
 *
 *   lockdep     take two mutexes in one order, then in the other
 *   kasan       read a word of a freed allocation
 *   ubsan       index an array out of its bounds
 *   leak        lose an allocation (a kmemleak scan reports it)
 *
 * Only for ../make-samples.sh, inside a throw-away guest.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

static struct dentry *provoke_file;

/* volatile: the compiler must emit the access, not a trap. */
static int *volatile provoke_null;
static unsigned long *volatile provoke_bad =
	(unsigned long *)0xdead000000000000UL;

static DEFINE_MUTEX(provoke_a);
static DEFINE_MUTEX(provoke_b);

/* Where the lost allocation's address was: cleared so nothing refers. */
static void *volatile provoke_lost;
static volatile int provoke_index = 8;

/* A -> B, then B -> A: lockdep reports the inversion at the second. */
static void provoke_lockdep(void)
{
	mutex_lock(&provoke_a);
	mutex_lock(&provoke_b);
	mutex_unlock(&provoke_b);
	mutex_unlock(&provoke_a);

	mutex_lock(&provoke_b);
	mutex_lock(&provoke_a);
	mutex_unlock(&provoke_a);
	mutex_unlock(&provoke_b);
}

static void provoke_kasan(void)
{
	unsigned long *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return;
	kfree(p);
	pr_info("rodp_provoke: read %lx after free\n", READ_ONCE(p[1]));
}

static void provoke_ubsan(void)
{
	int a[8] = {};

	pr_info("rodp_provoke: a[%d] = %d\n", provoke_index,
		a[provoke_index]);
}

static void provoke_leak(void)
{
	provoke_lost = kmalloc(128, GFP_KERNEL);
	provoke_lost = NULL;
}

/* Busy-wait by the clock: mdelay() is far from exact under QEMU TCG. */
static void provoke_spin(unsigned int ms)
{
	u64 end = ktime_get_ns() + (u64)ms * NSEC_PER_MSEC;

	while (ktime_get_ns() < end)
		cpu_relax();
}

static ssize_t provoke_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *pos)
{
	char what[16] = {};

	if (len >= sizeof(what))
		return -EINVAL;
	if (copy_from_user(what, ubuf, len))
		return -EFAULT;
	strim(what);

	if (!strcmp(what, "warning")) {
		WARN(1, "rodp_provoke: WARN() on request\n");
	} else if (!strcmp(what, "bug")) {
		BUG();
	} else if (!strcmp(what, "oops")) {
		*provoke_null = 1;
	} else if (!strcmp(what, "gpf")) {
		pr_info("rodp_provoke: read %lx\n", *provoke_bad);
	} else if (!strcmp(what, "softlockup")) {
		preempt_disable();
		provoke_spin(16000);
		preempt_enable();
	} else if (!strcmp(what, "rcustall")) {
		rcu_read_lock();
		preempt_disable();
		provoke_spin(8000);
		preempt_enable();
		rcu_read_unlock();
	} else if (!strcmp(what, "hung")) {
		msleep(15000);
	} else if (!strcmp(what, "lockdep")) {
		provoke_lockdep();
	} else if (!strcmp(what, "kasan")) {
		provoke_kasan();
	} else if (!strcmp(what, "ubsan")) {
		provoke_ubsan();
	} else if (!strcmp(what, "leak")) {
		provoke_leak();
	} else {
		return -EINVAL;
	}
	return len;
}

static const struct file_operations provoke_fops = {
	.owner = THIS_MODULE,
	.write = provoke_write,
};

static int __init provoke_init(void)
{
	provoke_file = debugfs_create_file("rodp_provoke", 0200, NULL, NULL,
					   &provoke_fops);
	return 0;
}

static void __exit provoke_exit(void)
{
	debugfs_remove(provoke_file);
}

module_init(provoke_init);
module_exit(provoke_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Provoke kernel reports for rodp's log checker samples");
