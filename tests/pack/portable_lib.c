// The shared library of portable_main: lives beside the program in a
// temporary folder that the pack test deletes after recording.
#include <stdint.h>

uint64_t portable_checksum(const char* s, int rounds) {
  uint64_t h = 1469598103934665603ull;
  for (int r = 0; r < rounds; ++r)
    for (const char* p = s; *p; ++p) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  return h;
}
