watch counter
continue
continue
reverse-continue
print counter
