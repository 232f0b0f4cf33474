#include "text.h"

#include <ctype.h>

void shout(const char *s, char *out, int cap) {
  int i = 0;
  for (; s[i] && i < cap - 1; i++) out[i] = (char)toupper((unsigned char)s[i]);
  out[i] = 0;
}
