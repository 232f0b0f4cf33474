break debug_stepwatch.c:11
continue
watch -l g
continue
print g
continue
print g
