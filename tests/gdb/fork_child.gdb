break child_work
continue
print arg
info threads
