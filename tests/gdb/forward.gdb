break tick
break debug_target.c:22
continue
bt
print i
print counter
continue
print local_total
continue
print i
next
finish
next
info threads
