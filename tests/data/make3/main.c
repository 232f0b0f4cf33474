#include <stdio.h>

#include "stats.h"
#include "text.h"

int main(void) {
  double v[] = {1, 2, 3, 4, 5, 6, 7, 8};
  char buf[32];
  shout("built by make", buf, sizeof buf);
  printf("%s: mean %.3f stddev %.3f\n", buf, mean(v, 8), stddev(v, 8));
  return 0;
}
