/* Part of src_lines.c: a header whose inline code puts it in the line
 * table, so `rewind sources` must list it beside the .c file. */
#ifndef REWIND_SRC_LINES_H
#define REWIND_SRC_LINES_H

static inline long src_lines_sum(long n) {
  long s = 0;
  for (long i = 1; i <= n; ++i) s += i;
  return s;
}

#endif
