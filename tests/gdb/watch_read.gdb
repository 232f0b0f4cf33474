watch buf
continue
continue
reverse-continue
print ::buf
