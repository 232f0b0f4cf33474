break tick
continue
continue
continue
print counter
reverse-continue
print counter
print i
reverse-finish
delete
next
next
reverse-step
reverse-finish
reverse-next
print i
print counter
reverse-next
print counter
