break mmap_shared_anon_fork.c:14
continue
reverse-stepi
stepi
break mmap_shared_anon_fork.c:29
continue
print shared[0]
print shared[1] != 0
reverse-continue
print shared[0]
print shared[1]
next
print shared[0]
continue
print shared[0]
print shared[1] != 0
