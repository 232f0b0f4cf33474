monitor when
break tick
reverse-continue
print i
reverse-continue
print i
reverse-continue
print i
reverse-continue
print i
reverse-continue
print i
continue
print i
monitor seek @END-10@
maintenance flush register-cache
monitor when
