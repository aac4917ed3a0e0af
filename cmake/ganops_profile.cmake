# ganops_emu_profile: ganops_emu's profiling mode (core/emu/profile.h). The same library as
# ganops_emu, with its kernels (kernels/cuda/*.cu as host C++) compiled with GCC's
# ThreadSanitizer instrumentation, -fsanitize=thread at compile time only: every load and store
# in them calls __tsan_readN/__tsan_writeN, which core/emu/profile/profile.cpp defines (libtsan is
# never linked). The runtime and the library's CPU code are not instrumented; ganops_emu is left
# exactly as it was. Included after cmake/ganops_emulated.cmake, whose variables it reuses.
#
# A program with kernels of its own (a test) links ganops_emu_profile and calls
# ganops_profile_instrument(<target>) so that its kernels are counted too. Any program linked with
# it prints the profile at exit with GANOPS_EMU_PROFILE=1.
if(NOT TARGET ganops_emu)
  return()
endif()
option(GANOPS_BUILD_EMU_PROFILE "Build ganops_emu_profile, the CPU execution mode's profiling mode" ON)
if(NOT GANOPS_BUILD_EMU_PROFILE)
  return()
endif()
if(GANOPS_SANITIZE)
  # The instrumentation is ThreadSanitizer's: it cannot be combined with a sanitizer's runtime.
  message(STATUS "ganops: GANOPS_SANITIZE=${GANOPS_SANITIZE}: ganops_emu_profile is not built")
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  message(STATUS "ganops: ganops_emu_profile needs GCC's -fsanitize=thread instrumentation; not built")
  return()
endif()

# No function entry/exit calls; a call at every basic block (-fsanitize-coverage=trace-pc: the
# profiler pairs the lanes' executions of a predicated access by loop iteration with them); no
# vectoriser or store merging, which would fuse the per-thread accesses of a kernel into wider
# ones that nvcc does not make; -Wno-tsan: GCC warns that ThreadSanitizer does not model
# atomic_thread_fence (__threadfence), which does not matter here; -g1: line tables, so that the
# report names each instruction's source line (through addr2line).
set(GANOPS_PROFILE_INSTRUMENT_OPTIONS -fsanitize=thread --param=tsan-instrument-func-entry-exit=0
  -fsanitize-coverage=trace-pc -fno-tree-vectorize -fno-store-merging -Wno-tsan -g1)

function(ganops_profile_instrument target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${GANOPS_PROFILE_INSTRUMENT_OPTIONS}>)
endfunction()

# The kernels, instrumented (the generated wrappers of ganops_emulated.cmake, compiled again).
add_library(ganops_emu_profile_kernels OBJECT ${GANOPS_EMU_KERNEL_SOURCES})
ganops_library_settings(ganops_emu_profile_kernels)
target_include_directories(ganops_emu_profile_kernels BEFORE PRIVATE ${PROJECT_SOURCE_DIR}/core/emu/include)
target_compile_definitions(ganops_emu_profile_kernels PRIVATE GANOPS_WITH_CUDA=1 GANOPS_EMULATED=1 GANOPS_EMU_PROFILE=1)
ganops_profile_instrument(ganops_emu_profile_kernels)

add_library(ganops_emu_profile SHARED $<TARGET_OBJECTS:ganops_cpu_objects> ${GANOPS_CUDA_HOST_SOURCES}
  $<TARGET_OBJECTS:ganops_emu_profile_kernels> ${GANOPS_EMU_RUNTIME_SOURCES}
  ${PROJECT_SOURCE_DIR}/core/emu/profile/profile.cpp)
ganops_library_settings(ganops_emu_profile)
target_include_directories(ganops_emu_profile BEFORE PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/core/emu/include>)
# GANOPS_EMU_PROFILE turns on the hooks in the runtime and in kernels/cuda/ptx.cuh.
target_compile_definitions(ganops_emu_profile PUBLIC GANOPS_WITH_CUDA=1 GANOPS_EMULATED=1 GANOPS_EMU_PROFILE=1)
target_link_libraries(ganops_emu_profile PUBLIC Threads::Threads PRIVATE ${CMAKE_DL_LIBS})
