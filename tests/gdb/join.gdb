break debug_join.c:40
continue
delete
reverse-next
info line *$pc
reverse-stepi
info line *$pc
reverse-stepi
print $pc < (long)&main + 78
monitor when
break add_to_counter
continue
print counter
delete
break debug_join.c:40
continue
break add_to_counter
reverse-continue
print counter + n
reverse-finish
reverse-next
info line *$pc
