// SPDX-License-Identifier: GPL-2.0
/*
 * rodp-stallfs: a FUSE filesystem with one file whose reads wait at a
 * gate, so that a page fault on a MAP_SHARED mapping of it stalls for as
 * long as a test wants.
 *
 *   rodp-stallfs MOUNTPOINT [--size MIB] [--open]
 *
 * MOUNTPOINT/data is a file of MIB MiB (default 16) held in memory: each
 * 8-byte word starts as its own offset, and writes (write-back of a shared
 * mapping) are kept.  The gate starts closed (--open: open).  While it is
 * closed every READ request waits unanswered; SIGUSR2 opens the gate and
 * answers them, SIGUSR1 closes it again, SIGTERM or SIGINT opens it,
 * unmounts and exits.
 *
 * Why: an ODP device faults a process's pages in with hmm_range_fault(),
 * as a remote access from its own thread.  userfaultfd cannot hold such a
 * fault (it answers a remote fault with SIGBUS at once), but a filesystem
 * read can: the device's fault waits in the filemap for the page, holding
 * a reference on the address space, while the test kills the process
 * whose memory it is.  The exit-stress tool uses this for its
 * fault-stall scenario.
 *
 * It speaks the kernel's FUSE protocol on /dev/fuse itself (no libfuse),
 * single-threaded.  On stdout, one line per event, flushed: "ready" once
 * mounted and initialised, "parked N" when a read waits (N waiting now),
 * "released N" when the gate opens on N reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define STALL_ROOT	1
#define STALL_DATA	2
#define STALL_NAME	"data"
#define STALL_MAX_WRITE	(128 * 1024)
#define STALL_BUF	(STALL_MAX_WRITE + 4096)
#define STALL_PARK_MAX	1024

struct stall_read {
	uint64_t unique;
	uint64_t off;
	uint32_t size;
};

static const char *mnt;
static int fuse_fd = -1;
static unsigned char *data;
static uint64_t data_size;
static int gate_open;
static struct stall_read parked[STALL_PARK_MAX];
static unsigned int nparked;

static void die(const char *what)
{
	fprintf(stderr, "rodp-stallfs: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One reply: header, then @len bytes at @arg (none when @error). */
static void reply(uint64_t unique, int error, const void *arg, size_t len)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + (error ? 0 : len),
		.error = error,
		.unique = unique,
	};
	struct iovec iov[2] = {
		{ .iov_base = &oh, .iov_len = sizeof(oh) },
		{ .iov_base = (void *)arg, .iov_len = len },
	};

	/* ENOENT: the request was interrupted and is gone; nothing to do. */
	if (writev(fuse_fd, iov, error || !len ? 1 : 2) < 0 &&
	    errno != ENOENT)
		die("write /dev/fuse");
}

static void fill_attr(uint64_t ino, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = 1;
	a->blksize = 4096;
	if (ino == STALL_ROOT) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0666;
		a->size = data_size;
		a->blocks = data_size / 512;
	}
}

static void answer_read(const struct stall_read *r)
{
	uint64_t n = 0;

	if (r->off < data_size)
		n = data_size - r->off < r->size ? data_size - r->off : r->size;
	reply(r->unique, 0, data + r->off, n);
}

static void open_gate(void)
{
	unsigned int i, n = nparked;

	gate_open = 1;
	for (i = 0; i < n; i++)
		answer_read(&parked[i]);
	nparked = 0;
	if (n)
		printf("released %u\n", n);
}

static void do_request(const void *buf, size_t len)
{
	const struct fuse_in_header *ih = buf;
	const void *in = (const char *)buf + sizeof(*ih);
	union {
		struct fuse_init_out init;
		struct fuse_entry_out entry;
		struct fuse_attr_out attr;
		struct fuse_open_out open;
		struct fuse_write_out write;
		struct fuse_statfs_out statfs;
	} out;

	if (len < sizeof(*ih))
		return;
	memset(&out, 0, sizeof(out));
	switch (ih->opcode) {
	case FUSE_INIT: {
		const struct fuse_init_in *ii = in;

		out.init.major = FUSE_KERNEL_VERSION;
		out.init.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ?
				 ii->minor : FUSE_KERNEL_MINOR_VERSION;
		out.init.max_readahead = ii->max_readahead;
		out.init.max_background = 16;
		out.init.congestion_threshold = 12;
		out.init.max_write = STALL_MAX_WRITE;
		out.init.time_gran = 1;
		out.init.max_pages = STALL_MAX_WRITE / 4096;
		reply(ih->unique, 0, &out.init, sizeof(out.init));
		printf("ready\n");
		return;
	}
	case FUSE_LOOKUP:
		if (ih->nodeid != STALL_ROOT || strcmp(in, STALL_NAME)) {
			reply(ih->unique, -ENOENT, NULL, 0);
			return;
		}
		out.entry.nodeid = STALL_DATA;
		out.entry.entry_valid = 3600;
		out.entry.attr_valid = 3600;
		fill_attr(STALL_DATA, &out.entry.attr);
		reply(ih->unique, 0, &out.entry, sizeof(out.entry));
		return;
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		out.attr.attr_valid = 3600;
		fill_attr(ih->nodeid, &out.attr.attr);
		reply(ih->unique, 0, &out.attr, sizeof(out.attr));
		return;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		reply(ih->unique, 0, &out.open, sizeof(out.open));
		return;
	case FUSE_READ: {
		const struct fuse_read_in *ri = in;
		struct stall_read r = {
			.unique = ih->unique,
			.off = ri->offset,
			.size = ri->size,
		};

		if (gate_open) {
			answer_read(&r);
			return;
		}
		if (nparked == STALL_PARK_MAX) {
			reply(ih->unique, -EAGAIN, NULL, 0);
			return;
		}
		parked[nparked++] = r;
		printf("parked %u\n", nparked);
		return;
	}
	case FUSE_WRITE: {
		const struct fuse_write_in *wi = in;
		const void *src = (const char *)in + sizeof(*wi);

		if (wi->offset >= data_size ||
		    wi->size > data_size - wi->offset ||
		    sizeof(*ih) + sizeof(*wi) + wi->size > len) {
			reply(ih->unique, -EFBIG, NULL, 0);
			return;
		}
		memcpy(data + wi->offset, src, wi->size);
		out.write.size = wi->size;
		reply(ih->unique, 0, &out.write, sizeof(out.write));
		return;
	}
	case FUSE_STATFS:
		out.statfs.st.blocks = data_size / 4096;
		out.statfs.st.bsize = 4096;
		out.statfs.st.frsize = 4096;
		out.statfs.st.namelen = 255;
		reply(ih->unique, 0, &out.statfs, sizeof(out.statfs));
		return;
	case FUSE_READDIR:	/* an empty listing: only lookups matter */
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_FSYNC:
	case FUSE_ACCESS:
		reply(ih->unique, 0, NULL, 0);
		return;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:	/* a parked read is answered at the gate */
		return;
	case FUSE_DESTROY:
		reply(ih->unique, 0, NULL, 0);
		exit(0);
	default:
		reply(ih->unique, -ENOSYS, NULL, 0);
		return;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: rodp-stallfs MOUNTPOINT [--size MIB] [--open]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	static char buf[STALL_BUF];
	char opts[128];
	sigset_t sigs;
	uint64_t i, mib = 16;
	int sfd, a;
	ssize_t n;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--size") && a + 1 < argc)
			mib = strtoull(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--open"))
			gate_open = 1;
		else if (argv[a][0] != '-' && !mnt)
			mnt = argv[a];
		else
			usage();
	}
	if (!mnt || !mib || mib > 4096)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);

	data_size = mib << 20;
	data = malloc(data_size);
	if (!data)
		die("malloc");
	for (i = 0; i < data_size / 8; i++)
		((uint64_t *)data)[i] = i * 8;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL))
		die("sigprocmask");
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd");

	fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0)
		die("open /dev/fuse");
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other",
		 fuse_fd);
	if (mount("rodp-stallfs", mnt, "fuse.rodp-stallfs",
		  MS_NOSUID | MS_NODEV, opts))
		die("mount");

	pfd[0] = (struct pollfd){ .fd = fuse_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pfd[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				die("read signalfd");
			if (si.ssi_signo == SIGUSR1) {
				gate_open = 0;
			} else {
				open_gate();
				if (si.ssi_signo != SIGUSR2)
					break;
			}
		}
		if (pfd[0].revents & (POLLERR | POLLHUP))
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		n = read(fuse_fd, buf, sizeof(buf));
		if (n < 0) {
			/* ENOENT: a request interrupted before we read it. */
			if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
				continue;
			if (errno == ENODEV)	/* unmounted */
				break;
			die("read /dev/fuse");
		}
		do_request(buf, n);
	}
	umount2(mnt, MNT_DETACH);
	return 0;
}
