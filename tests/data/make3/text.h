#pragma once
void shout(const char *s, char *out, int cap);
