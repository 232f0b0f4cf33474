break child_report
continue
print poked
print got_usr1
break on_usr1
reverse-continue
print got_usr1
delete
watch poked
reverse-continue
print poked
bt 1
continue
print poked
