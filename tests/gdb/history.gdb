break tick
continue
reverse-continue
continue
continue
continue
continue
continue
continue
continue
print counter
reverse-continue
print i
print counter
