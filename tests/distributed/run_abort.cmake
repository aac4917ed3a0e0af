# One failing rank must end the run within bounded time, never hang:
#   cmake -DMPIEXEC=... -DCHILD=abort_child -DMODE=kill|throw -DLIMIT=60 -P run_abort.cmake
# Passes when mpirun exits with an error well before LIMIT seconds, with a message that names
# the rank that failed: ours for MODE=throw (abort_all), mpirun's for MODE=kill (OpenMPI:
# "... noticed that process rank 1 with PID ... exited on signal 9").
string(TIMESTAMP start "%s")
execute_process(
  COMMAND ${MPIEXEC} --allow-run-as-root --oversubscribe -np 2 ${CHILD} ${MODE}
  TIMEOUT ${LIMIT}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
string(TIMESTAMP end "%s")
math(EXPR seconds "${end} - ${start}")
message(STATUS "mpirun exited with '${rc}' after ${seconds} s\n${out}${err}")
if(rc MATCHES "timeout")
  message(FATAL_ERROR "the surviving rank was still waiting after ${LIMIT} s: a failed rank hangs the run")
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "mpirun reported success although rank 1 failed")
endif()
if(MODE STREQUAL "throw" AND NOT err MATCHES "abort_child: rank 1 of 2: out of data")
  message(FATAL_ERROR "the error message does not name the failing rank")
endif()
if(MODE STREQUAL "kill" AND NOT "${out}${err}" MATCHES "process rank 1 [^\n]*signal 9")
  message(FATAL_ERROR "mpirun's message does not name the killed rank")
endif()
