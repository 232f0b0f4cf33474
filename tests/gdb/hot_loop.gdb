break debug_hot.c:19
continue
reverse-stepi
info line *$pc
stepi
info line *$pc
break step
reverse-continue
print i
reverse-continue
print i
bt 2
delete
watch g
reverse-continue
print i
delete
reverse-stepi
reverse-stepi
stepi
stepi
print g
break step
continue
print i
