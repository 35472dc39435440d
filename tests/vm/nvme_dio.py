#!/usr/bin/python3
"""tests/vm/nvme_dio.py DEV BASE SIZE SEED MODEL: O_DIRECT I/O on DEV.

Used by tests/vm/suites/68-nvmeof.sh on the NVMe-oF namespace.  The area
[BASE, BASE + SIZE) of DEV is first zeroed, then each case writes random
bytes (from SEED) at a sector-aligned offset with a length that is a
multiple of 512 but mostly not of 4096, from a user buffer whose start
is not page aligned (NVMe allows 4-byte aligned buffers for direct I/O:
the memory region then starts inside a page and spans many pages), and
reads them back into a buffer misaligned another way; the bytes read
must equal the bytes written.  Last, the whole area is read back (page
aligned, in one go) and compared with what the cases wrote, so a write
that spilled outside its range is caught too; the area's expected
content is left in the file MODEL for the suite to compare with the
target's backing device.

Prints TAP: "1..N", then one "ok I - ..." or "not ok I - ..." per case.
`nvme_dio.py --count` prints N.
"""
import mmap
import os
import random
import sys

SECTOR = 512

# (offset in the area, length, write buffer misalignment, read buffer
# misalignment): offsets and lengths in bytes.
CASES = [
    (0, SECTOR, 0, 0),
    (3 * 4096 + SECTOR, 4096 + SECTOR, 4, 8),
    (64 * 1024 + 3 * SECTOR, 64 * 1024 - SECTOR, 2052, 4),
    (256 * 1024 + SECTOR, 255 * SECTOR, 4, 4092),
    (1024 * 1024, 1024 * 1024 + 3 * SECTOR, 1028, 4),
    (2 * 1024 * 1024 + 7 * SECTOR, 3 * 1024 * 1024 - SECTOR, 0, 512),
    (5 * 1024 * 1024 + 4096, 37 * SECTOR, 3072, 12),
]


def count():
    return len(CASES) + 2


def buffer(length, misalign):
    """A page-aligned anonymous mapping and a view of LENGTH bytes in it
    that starts MISALIGN bytes after a page boundary."""
    m = mmap.mmap(-1, length + misalign + mmap.PAGESIZE)
    return m, memoryview(m)[misalign:misalign + length]


def pwrite_all(fd, view, pos):
    done = 0
    while done < len(view):
        n = os.pwritev(fd, [view[done:]], pos + done)
        if n <= 0:
            raise OSError("short write at %d" % (pos + done))
        done += n


def pread_all(fd, view, pos):
    done = 0
    while done < len(view):
        n = os.preadv(fd, [view[done:]], pos + done)
        if n <= 0:
            raise OSError("short read at %d" % (pos + done))
        done += n


def main():
    if sys.argv[1:] == ["--count"]:
        print(count())
        return 0
    dev, base, size, seed, model_path = sys.argv[1:6]
    base, size = int(base), int(size)
    rng = random.Random(int(seed))
    model = bytearray(size)
    failed = 0
    n = 0

    def report(ok, name, why=""):
        nonlocal failed, n
        n += 1
        if ok:
            print("ok %d - %s" % (n, name))
        else:
            failed += 1
            print("not ok %d - %s" % (n, name))
            if why:
                print("# %s" % why)
        sys.stdout.flush()

    print("1..%d" % count())
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    try:
        zero, zview = buffer(size, 0)
        try:
            pwrite_all(fd, zview, base)
            os.fsync(fd)
            report(True, "zero %d KiB at %d (O_DIRECT)" % (size >> 10,
                                                           base))
        except OSError as e:
            report(False, "zero %d KiB at %d" % (size >> 10, base), str(e))

        for off, length, wmis, rmis in CASES:
            name = ("%d bytes at +%d, buffers at page offset %d "
                    "(write) and %d (read)" % (length, off, wmis, rmis))
            data = rng.randbytes(length)
            wm, wview = buffer(length, wmis)
            rm, rview = buffer(length, rmis)
            wview[:] = data
            try:
                pwrite_all(fd, wview, base + off)
                model[off:off + length] = data
                pread_all(fd, rview, base + off)
            except OSError as e:
                report(False, name, str(e))
                continue
            got = bytes(rview)
            if got == data:
                report(True, name)
            else:
                first = next(i for i in range(length) if got[i] != data[i])
                report(False, name, "first difference at byte %d" % first)

        am, aview = buffer(size, 0)
        name = "the whole %d KiB area reads back as written" % (size >> 10)
        try:
            pread_all(fd, aview, base)
        except OSError as e:
            report(False, name, str(e))
        else:
            got = bytes(aview)
            if got == bytes(model):
                report(True, name)
            else:
                first = next(i for i in range(size) if got[i] != model[i])
                report(False, name, "first difference at byte %d" % first)
    finally:
        os.close(fd)
    with open(model_path, "wb") as f:
        f.write(model)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
