break main
continue
print argc
print argv[1]
info threads
