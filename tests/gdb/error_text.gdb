break tick
continue
continue
print counter
# Reverse execution replays from the start, which maps libc again from the
# trace's copy: without it, reverse-continue must fail, say why, and leave
# gdb where it was.
shell rm @TMP@/trace/files/libc.so.6-*
reverse-continue
print counter
info line *$pc
# Forward replay goes on from the same place.
continue
print counter
