#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Print the slicing-by-8 tables of the reflected CRC-32 (poly 0xEDB88320)
as the C initialiser used in lib/src/crc32.c.  The unit tests recompute the
tables bit by bit, so this script only documents where they come from."""

POLY = 0xEDB88320


def main():
    t = [[0] * 256 for _ in range(8)]
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ (POLY if c & 1 else 0)
        t[0][n] = c
    for k in range(1, 8):
        for n in range(256):
            c = t[k - 1][n]
            t[k][n] = (c >> 8) ^ t[0][c & 0xFF]
    print("static const uint32_t rcore_crc32_tab[8][256] = {")
    for k in range(8):
        print("\t{")
        for i in range(0, 256, 5):
            row = ", ".join("0x%08x" % v for v in t[k][i:i + 5])
            print("\t\t" + row + ",")
        print("\t},")
    print("};")


if __name__ == "__main__":
    main()
