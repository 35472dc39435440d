// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * odp_test: other memory than private anonymous pages: fork() without
 * MADV_DONTFORK, MAP_SHARED anonymous memory, memfd, a MAP_SHARED file,
 * a file on the guest's 9p root, transparent huge pages, hugetlb pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "odp_test.h"

/* ---------------------------------------------------------------------- */
/* fork() without MADV_DONTFORK                                            */
/* ---------------------------------------------------------------------- */

/*
 * fork() with the NIC's mirror populated: the parent's address space is
 * what the NIC sees, the child's copy never changes.  (1) A WRITE after
 * fork lands in the parent only; (2) after the child wrote its copy, a
 * WRITE still lands in the parent only; (3) after the parent's CPU
 * breaks copy-on-write, a READ returns the parent's new data; (4) the
 * same for a SEND source.
 */
void test_fork(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB, half = len / 2, slen = 64 * KIB;
	struct buf *r, *src, *l, *s, *rb;
	uint8_t *snapshot, *want;
	struct kid *k;

	obuf3(tc, len, &r, &src, &l);
	snapshot = vt_tc_alloc(&tc->vc, len);
	want = vt_tc_alloc(&tc->vc, len);

	write_pat(tc, c, src, r, 0, len, 71, "WRITE before fork");
	memcpy(snapshot, r->mem, len);
	k = kid_fork(tc, r->mem, len, snapshot, 99);

	fill_pat(src->mem, half, 72);
	do_write(c, src, 0, r, 0, half, IBV_WC_SUCCESS,
		 "WRITE after fork, first half");
	memcpy(want, snapshot, len);
	memcpy(want, src->mem, half);
	expect_same("parent after the WRITE after fork", r->mem, want, len);
	kid_ask(k, 'S', 'y', "child's copy after the parent's NIC WRITE");

	kid_ask(k, 'W', 'w', "child writes its copy");
	fill_pat(src->mem + half, half, 73);
	do_write(c, src, half, r, half, half, IBV_WC_SUCCESS,
		 "WRITE after the child wrote, second half");
	expect_same("parent after the child wrote and the NIC wrote",
		    r->mem, src->mem, len);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ back");
	expect_same("READ back", l->mem, src->mem, len);
	kid_ask(k, 'S', 'y', "child's copy after its own write");
	kid_end(k, "first child");

	/* The parent's CPU breaks COW after the NIC mirrored the pages. */
	memcpy(snapshot, r->mem, len);
	k = kid_fork(tc, r->mem, len, snapshot, 0);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ after fork");
	expect_same("READ after fork", l->mem, snapshot, len);
	fill_pat(r->mem, len, 74);
	read_pat(tc, c, l, r, 0, len, 74,
		 "READ after the parent's CPU wrote (COW broken)");
	kid_ask(k, 'S', 'y', "child's copy after the parent's CPU wrote");
	write_pat(tc, c, src, r, 0, len, 75,
		  "WRITE after the parent's CPU wrote");
	kid_ask(k, 'S', 'y', "child's copy after the parent's NIC WRITE");
	kid_end(k, "second child");

	/* A SEND source whose COW the parent's CPU breaks. */
	s = obuf(tc, &tc->sa, slen);
	rb = obuf(tc, &tc->sb, slen);
	fill_pat(s->mem, slen, 76);
	do_send(c, s, 0, rb, 0, slen, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND before fork");
	memcpy(snapshot, s->mem, slen);
	k = kid_fork(tc, s->mem, slen, snapshot, 0);
	do_send(c, s, 0, rb, 0, slen, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND after fork");
	expect_pat(tc, "SEND after fork", rb->mem, slen, 76);
	fill_pat(s->mem, slen, 77);
	do_send(c, s, 0, rb, 0, slen, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND after the parent's CPU wrote its source");
	expect_pat(tc, "SEND after the parent's CPU wrote its source",
		   rb->mem, slen, 77);
	kid_ask(k, 'S', 'y', "child's copy of the SEND source");
	kid_end(k, "third child");
}

/* ---------------------------------------------------------------------- */
/* Shared memory, files, huge pages                                        */
/* ---------------------------------------------------------------------- */

/*
 * MAP_SHARED anonymous memory (shmem): WRITE and READ; MADV_DONTNEED only
 * unmaps (the NIC still reads the data), MADV_REMOVE frees the pages (the
 * NIC reads zeros); a forked child shares the NIC's WRITE.
 */
void test_shared_anon(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = MIB;
	struct buf *r, *src, *l;
	uint8_t *p, *want;
	struct kid *k;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_SHARED: %s", strerror(errno));
	r = obuf_at(tc, &tc->sb, p, len, -1);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	want = vt_tc_alloc(&tc->vc, len);

	fill_pat(src->mem, len, 81);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 3, r, 3, len - 10, ZERO,
		   "WRITE into MAP_SHARED");
	fill_pat(r->mem, len, 82);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after the CPU wrote");
	expect_pat(tc, "READ after the CPU wrote", l->mem, len, 82);

	madv(r->mem, len, MADV_DONTNEED, "MADV_DONTNEED");
	read_pat(tc, c, l, r, 0, len, 82,
		 "READ after MADV_DONTNEED (shared pages stay)");
	madv(r->mem, len, MADV_REMOVE, "MADV_REMOVE");
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after MADV_REMOVE");
	expect_pat(tc, "READ after MADV_REMOVE (pages freed)", l->mem, len,
		   ZERO);

	fill_pat(src->mem, len, 83);
	memcpy(want, src->mem, len);
	k = kid_fork(tc, r->mem, len, want, 0);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS,
		 "WRITE into MAP_SHARED after fork");
	expect_pat(tc, "parent after the WRITE after fork", r->mem, len, 83);
	kid_ask(k, 'S', 'y', "child sees the NIC's WRITE into shared memory");
	kid_end(k, "child");
}

/*
 * A memfd mapped twice (X registered, Y the CPU's second view): the NIC's
 * WRITE through X shows at Y; the CPU's write at Y and a pwrite(2) are
 * what the NIC reads through X; a punched hole reads as zeros.
 */
void test_memfd(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = MIB;
	struct buf *x, *src, *l;
	uint8_t *px, *py;
	int fd;

	fd = memfd_create("odp_test", 0);
	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(!ftruncate(fd, (off_t)len), "ftruncate: %s", strerror(errno));
	px = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(px != MAP_FAILED, "mmap memfd: %s", strerror(errno));
	x = obuf_at(tc, &tc->sb, px, len, fd);
	py = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(py != MAP_FAILED, "mmap memfd again: %s", strerror(errno));
	buf_track(tc, py, len, py, len, -1);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);

	fill_pat(src->mem, len, 91);
	do_write(c, src, 0, x, 5, len - 9, IBV_WC_SUCCESS,
		 "WRITE through the first mapping");
	expect_region(tc, "second mapping after the NIC's WRITE", py, len, 5,
		      src->mem, len - 9, ZERO);
	fill_pat(py, len, 92);
	do_read(c, l, 0, x, 0, len, IBV_WC_SUCCESS,
		"READ after the CPU wrote the second mapping");
	expect_pat(tc, "READ after the CPU wrote the second mapping", l->mem,
		   len, 92);
	fill_pat(src->mem, 8192, 93);
	CHECK(pwrite(fd, src->mem, 8192, 4096) == 8192, "pwrite: %s",
	      strerror(errno));
	do_read(c, l, 0, x, 4096, 8192, IBV_WC_SUCCESS,
		"READ after pwrite(2)");
	expect_pat(tc, "READ after pwrite(2)", l->mem, 8192, 93);
	CHECK(!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			 (off_t)len), "fallocate(PUNCH_HOLE): %s",
	      strerror(errno));
	read_pat(tc, c, l, x, 0, len, ZERO, "READ after the hole was punched");
}

/*
 * A MAP_SHARED file in the guest's /tmp: a NIC WRITE, msync, and read(2)
 * shows the data in the file; a pwrite(2) is what the NIC reads; after
 * the file is truncated to 0 and extended again, the NIC reads zeros.
 */
void test_file(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = MIB + PAGE, dlen = MIB - 7, off = 4093;
	struct buf *f, *src, *l;
	struct statfs sf;
	uint8_t *p, *got;
	int fd;

	p = file_map(tc, len, &fd);
	if (!fstatfs(fd, &sf))
		vt_diag("%s: file system type 0x%lx%s", tc->tmpfile,
			(unsigned long)sf.f_type,
			sf.f_type == 0x01021994 ? " (tmpfs)" : "");
	f = obuf_at(tc, &tc->sb, p, len, fd);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	got = vt_tc_alloc(&tc->vc, len);

	fill_pat(src->mem, len, 101);
	do_write(c, src, 0, f, off, dlen, IBV_WC_SUCCESS,
		 "WRITE into the mapped file");
	CHECK(!msync(p, len, MS_SYNC), "msync: %s", strerror(errno));
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_region(tc, "the file after the NIC's WRITE and msync", got,
		      len, off, src->mem, dlen, ZERO);

	fill_pat(src->mem, 3 * PAGE, 102);
	CHECK(pwrite(fd, src->mem, 3 * PAGE, 2 * PAGE) == 3 * PAGE,
	      "pwrite: %s", strerror(errno));
	do_read(c, l, 0, f, 2 * PAGE, 3 * PAGE, IBV_WC_SUCCESS,
		"READ after pwrite(2)");
	expect_pat(tc, "READ after pwrite(2)", l->mem, 3 * PAGE, 102);

	CHECK(!ftruncate(fd, 0) && !ftruncate(fd, (off_t)len),
	      "ftruncate to 0 and back: %s", strerror(errno));
	read_pat(tc, c, l, f, 0, len, ZERO, "READ after truncate and extend");
	fill_pat(src->mem, len, 103);
	do_write(c, src, 0, f, 0, len, IBV_WC_SUCCESS,
		 "WRITE after truncate and extend");
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_pat(tc, "the file after the last WRITE", got, len, 103);
}

/*
 * A read-only mapping of a file on the guest's 9p root (rodp.ko, a few
 * MiB; page cache filled over the network): READs through an ODP MR
 * (REMOTE_READ only, or the implicit MR) equal pread(2), also after
 * MADV_PAGEOUT dropped the clean pages (they come back from 9p).
 */
void test_9p_file(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	const char *repo = getenv("RODP_REPO");
	size_t len = 2 * MIB, i;
	struct buf *f, *l;
	char path[512];
	struct stat st;
	uint8_t *p, *want;
	int fd;

	snprintf(path, sizeof(path), "%s/build/cmake/kmod/kbuild/rodp.ko",
		 repo ? repo : ".");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || (size_t)st.st_size < len) {
		vt_diag("%s: %s", path, fd < 0 ? strerror(errno) : "too small");
		if (fd >= 0)
			close(fd);
		skip();
	}
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap %s: %s", path, strerror(errno));
	f = buf_track(tc, p, len, p, len, fd);
	buf_reg(f, &tc->sb, odp_kind(tc), IBV_ACCESS_REMOTE_READ);
	l = obuf(tc, &tc->sa, len);
	want = vt_tc_alloc(&tc->vc, len);
	CHECK(pread(fd, want, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	for (i = 0; i < 2; i++) {
		char what[120];

		snprintf(what, sizeof(what), "READ of 2 MiB of %s%s",
			 "a 9p file", i ? " after MADV_PAGEOUT" : "");
		fill_pat(l->mem, len, G_BACK);
		do_read(c, l, 0, f, 0, len, IBV_WC_SUCCESS, what);
		expect_same(what, l->mem, want, len);
		madv(p, len, MADV_PAGEOUT, "MADV_PAGEOUT");
	}
}

/*
 * Transparent huge pages (MADV_HUGEPAGE, 2 MiB-aligned 4 MiB, checked in
 * smaps): WRITE and READ across both huge pages; MADV_DONTNEED of 4 KiB
 * inside one (the PMD splits) reads as zeros between the data; a WRITE
 * into the hole shows; all of it DONTNEED reads as zeros.
 */
void test_thp(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 4 * MIB, map_len, hole = MIB + 5 * PAGE;
	struct buf *r, *src, *l;
	uint8_t *p;
	long kb;

	p = map_blocks(len, &map_len, true);
	CHECK(p, "mmap: %s", strerror(errno));
	fill_pat(p, len, G_DST);
	kb = anon_huge_kb(p);
	vt_diag("AnonHugePages of the 4 MiB buffer: %ld kB", kb);
	CHECK(kb >= 2048, "no transparent huge page in the MADV_HUGEPAGE buffer (AnonHugePages %ld kB)",
	      kb);
	r = buf_track(tc, p, len, p, map_len, -1);
	buf_reg(r, &tc->sb, odp_kind(tc), ODP_ACCESS);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);

	fill_pat(src->mem, len, 111);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 3, r, 5, len - 10, G_DST,
		   "WRITE across two huge pages");
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ of the huge pages");
	expect_same("READ of the huge pages", l->mem, r->mem, len);
	CHECK(anon_huge_kb(p) >= 2048,
	      "the huge pages split without reason (AnonHugePages %ld kB)",
	      anon_huge_kb(p));

	madv(r->mem + hole, PAGE, MADV_DONTNEED, "MADV_DONTNEED of 4 KiB");
	fill_pat(l->mem, 3 * PAGE, G_BACK);
	do_read(c, l, 0, r, hole - PAGE, 3 * PAGE, IBV_WC_SUCCESS,
		"READ around the hole in a huge page");
	{
		uint8_t *want = vt_tc_alloc(&tc->vc, 3 * PAGE);

		memcpy(want, r->mem + hole - PAGE, 3 * PAGE);
		memset(want + PAGE, 0, PAGE);
		expect_same("READ around the hole in a huge page", l->mem,
			    want, 3 * PAGE);
	}
	write_pat(tc, c, src, r, hole, PAGE, 112, "WRITE into the hole");

	madv(r->mem, len, MADV_DONTNEED, "MADV_DONTNEED of all");
	read_pat(tc, c, l, r, 0, len, ZERO,
		 "READ after MADV_DONTNEED of the huge pages");
}

/*
 * hugetlb pages (MAP_HUGETLB, 2 MiB; the suite reserves some): WRITE,
 * READ, MADV_DONTNEED then READ gives zeros.  Skipped without pages.
 */
void test_hugetlb(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 4 * MIB;
	struct buf *r, *src, *l;
	uint8_t *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	/* suites/52-odp.sh reserves them: not finding them is a failure. */
	CHECK(p != MAP_FAILED,
	      "no 4 MiB of hugetlb pages (mmap MAP_HUGETLB: %s)",
	      strerror(errno));
	r = obuf_at(tc, &tc->sb, p, len, -1);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);

	fill_pat(src->mem, len, 121);
	xfer_check(tc, c, IBV_WR_RDMA_WRITE, src, 1, r, 9, len - 17, ZERO,
		   "WRITE into hugetlb pages");
	fill_pat(r->mem, len, 122);
	read_pat(tc, c, l, r, 0, len, 122, "READ after the CPU wrote");
	madv(r->mem, len, MADV_DONTNEED, "MADV_DONTNEED");
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after MADV_DONTNEED");
	expect_pat(tc, "READ after MADV_DONTNEED of hugetlb pages", l->mem,
		   len, ZERO);
}
