break tick
continue
continue
print counter
# A reverse-continue to a breakpoint never hit (exit) replays every
# stretch back to the start, which maps libc again from the trace's copy:
# without it, it must fail, say why, and leave gdb where it was. (Not back
# to tick: a mark that a slow replay left after libc was mapped would serve
# that one without libc.)
disable 1
break exit
shell rm @TMP@/trace/files/libc.so.6-*
reverse-continue
print counter
info line *$pc
# Forward replay goes on from the same place.
enable 1
continue
print counter
