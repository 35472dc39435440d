# perftest/plot.gp: bandwidth against message size, for `./rodp bench`.
#
#   gnuplot -c perftest/plot.gp DATA PNG TERMINAL PANELS TITLE [STEP]
#
# DATA: whitespace-separated columns, a header line of quoted series
# names, then one row per message size: the size in bytes, then three
# series per panel (NaN where there is no measurement).  TERMINAL:
# pngcairo or png.  PANELS: the panels' titles, one word each, left to
# right.  TITLE: over all panels.  STEP: a tic at every STEP-th power
# of two (default 2: 4 B, 16 B, ..., 4 KiB, 16 KiB, ...).

data = ARG1
n = words(ARG4)
width = (n == 1) ? 800 : 440 * n

if (ARG3 eq "pngcairo") {
	set terminal pngcairo size width, 440 noenhanced font ",10"
} else {
	set terminal png size width, 440 noenhanced
}
set output ARG2

set datafile missing "NaN"
set logscale x 2
step = (ARGC >= 6) ? int(ARG6) : 2
size_label(x) = x >= 1048576 ? sprintf("%d MiB", x / 1048576) : \
	x >= 1024 ? sprintf("%d KiB", x / 1024) : sprintf("%d B", x)
set xtics ()
do for [k = 0:24:step] {
	set xtics add (size_label(2 ** k) 2 ** k)
}
set xlabel "message size"
set ylabel "BW average, MiB/s (perftest's MB/sec)"
set yrange [0:*]
set key top left
set grid

set multiplot layout 1, n title ARG5
do for [i = 1:n] {
	set title word(ARG4, i)
	plot for [j = 1:3] data using 1:(column(3 * (i - 1) + j + 1)) \
		with linespoints lw 2 pt 7 title columnheader(3 * (i - 1) + j + 1)
}
unset multiplot
