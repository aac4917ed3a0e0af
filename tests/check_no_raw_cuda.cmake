# Fails when a kernel launch is written with <<<>>> or inline PTX is written outside the two
# files that own them (kernels/cuda/launch.cuh, kernels/cuda/ptx.cuh): the CPU execution
# mode replaces exactly those two, so anything elsewhere would escape it.
file(GLOB_RECURSE sources
  ${ROOT}/kernels/*.cu ${ROOT}/kernels/*.cuh ${ROOT}/kernels/*.h ${ROOT}/kernels/*.cpp
  ${ROOT}/core/*.h ${ROOT}/core/*.cpp ${ROOT}/core/*.cuh ${ROOT}/nn/*.h ${ROOT}/nn/*.cpp
  ${ROOT}/tests/*.cu ${ROOT}/tests/*.cpp ${ROOT}/tests/*.h
  ${ROOT}/benchmarks/*.cu ${ROOT}/benchmarks/*.cpp ${ROOT}/benchmarks/*.h ${ROOT}/examples/*.cpp ${ROOT}/examples/*.h)
set(offenders "")
foreach(f ${sources})
  if(f MATCHES "/kernels/cuda/(launch|ptx)\\.cuh$")
    continue()
  endif()
  file(STRINGS ${f} lines REGEX "<<<|(^|[^A-Za-z0-9_])(asm|__asm__)[ \t]*(volatile|__volatile__)?[ \t]*\\(")
  foreach(line ${lines})
    string(STRIP "${line}" line)
    # Comments may mention them.
    if(NOT line MATCHES "^//")
      list(APPEND offenders "${f}: ${line}")
    endif()
  endforeach()
endforeach()
if(offenders)
  list(JOIN offenders "\n  " text)
  message(FATAL_ERROR "raw kernel launches or inline asm outside launch.cuh/ptx.cuh:\n  ${text}")
endif()
message(STATUS "no raw <<<>>> or asm outside kernels/cuda/launch.cuh and ptx.cuh")
