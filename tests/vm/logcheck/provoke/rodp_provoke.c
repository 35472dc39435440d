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
 * Only for ../make-samples.sh, inside a throw-away guest.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/uaccess.h>

static struct dentry *provoke_file;

/* volatile: the compiler must emit the access, not a trap. */
static int *volatile provoke_null;
static unsigned long *volatile provoke_bad =
	(unsigned long *)0xdead000000000000UL;

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
