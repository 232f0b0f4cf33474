break finished
continue
print total
break bump
python import time; t0 = time.time()
reverse-continue
python print("TIMING reverse-continue (last hit): %.2f s" % (time.time() - t0))
info threads
print id
print total
print hits[3]
python t0 = time.time()
reverse-continue
python print("TIMING reverse-continue (thread switch): %.2f s" % (time.time() - t0))
info threads
print id
print total
print last_id
next
next
print total
reverse-next
print total
reverse-step
print hits[2]
python t0 = time.time()
reverse-finish
python print("TIMING reverse-finish: %.2f s" % (time.time() - t0))
print round
