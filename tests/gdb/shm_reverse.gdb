break sysv_shm.c:70
continue
print (char*)a
print (char*)b + 4096
break sysv_shm.c:35
reverse-continue
print a[0]
print (char*)b + 8192
next
print (char*)b
delete
break sysv_shm.c:59
continue
print (char*)a + 4096
print (char*)a + 8192
next
print (char*)a + 8192
