break debug_loop_line.c:27
continue
break body
reverse-continue
print i
reverse-finish
reverse-step
info line *$pc
reverse-step
print i
reverse-next
reverse-stepi
info line *$pc
delete
break getpid
continue
continue
bt 2
reverse-continue
bt 2
