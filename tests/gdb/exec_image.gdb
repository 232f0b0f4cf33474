break before_exec
break main
continue
continue
continue
continue
continue
print argv[1]
info sharedlibrary
info breakpoints
# gdb disabled breakpoint 1 when it found no before_exec in the new image.
enable 1
reverse-continue
print i
info sharedlibrary
bt
reverse-continue
print i
reverse-continue
reverse-continue
reverse-continue
info sharedlibrary
info inferiors
continue
continue
continue
continue
continue
print argv[2]
info inferiors
