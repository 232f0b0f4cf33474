#include "stats.h"

double mean(const double *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += v[i];
  return n ? s / n : 0;
}

double stddev(const double *v, int n) {
  double m = mean(v, n), s = 0;
  for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
  /* Newton's method instead of libm's sqrt, so no -lm is needed. */
  double r = s > 1 ? s : 1;
  for (int i = 0; i < 40; i++) r = 0.5 * (r + s / n / r);
  return n ? r : 0;
}
