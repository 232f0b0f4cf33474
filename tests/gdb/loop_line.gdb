break debug_loop_line.c:25
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
bt 1
