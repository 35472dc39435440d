# perftest/stress-plot.gp: the survivor's latency per scenario, for
# rodp-exit-stress (./rodp stress).
#
#   gnuplot -c perftest/stress-plot.gp SUMMARY_TSV PNG TITLE
#
# SUMMARY_TSV: the tool's summary.tsv (a header line, then per
# scenario: name, cycles, failures, first error statuses, p50, p99 and
# max of the time from the action on the victim to the survivor's first
# error completion, in ms; nan where no survivor was a requester).

set terminal png size 800, 440 noenhanced
set output ARG2
set datafile separator "\t"
set datafile missing "nan"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y 10
set ylabel "action -> survivor's first error, ms"
set title ARG3 . ": survivor latency per scenario"
set key top left
set grid ytics
plot ARG1 using 5:xtic(1) title "p50", \
     '' using 6 title "p99", \
     '' using 7 title "max"
