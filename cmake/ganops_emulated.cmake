# ganops_emu: libganops with its CUDA side compiled as host C++ against core/emu. Each
# kernels/cuda/*.cu is compiled through a generated one-line .cpp that includes the shim
# first, so the .cu files stay exactly what nvcc compiles.
enable_language(ASM)

# A .cu file as C++ for the emulated build: returns the generated source in `out`.
function(ganops_emulated_source cu out)
  get_filename_component(name ${cu} NAME)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${cu})
  string(MAKE_C_IDENTIFIER ${rel} id)
  set(generated ${PROJECT_BINARY_DIR}/emulated/${id}.cpp)
  file(CONFIGURE OUTPUT ${generated} CONTENT "// Generated: ${rel} compiled as C++ for the CPU execution mode.
#include \"core/emu/cuda_emu.h\"
#include \"${cu}\"
" @ONLY)
  set(${out} ${generated} PARENT_SCOPE)
endfunction()

set(GANOPS_EMU_RUNTIME_SOURCES
  ${PROJECT_SOURCE_DIR}/core/emu/runtime.cpp
  ${PROJECT_SOURCE_DIR}/core/emu/cuda_api.cpp
  ${PROJECT_SOURCE_DIR}/core/emu/fiber.cpp
  ${PROJECT_SOURCE_DIR}/core/emu/fiber_switch_x86_64.S)
file(GLOB GANOPS_EMU_EXTRA_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/emu/*.cpp)
list(APPEND GANOPS_EMU_RUNTIME_SOURCES ${GANOPS_EMU_EXTRA_SOURCES})
list(REMOVE_DUPLICATES GANOPS_EMU_RUNTIME_SOURCES)

set(GANOPS_EMU_KERNEL_SOURCES)
foreach(cu ${GANOPS_CUDA_SOURCES})
  ganops_emulated_source(${cu} generated)
  list(APPEND GANOPS_EMU_KERNEL_SOURCES ${generated})
endforeach()

add_library(ganops_emu SHARED $<TARGET_OBJECTS:ganops_cpu_objects> ${GANOPS_CUDA_HOST_SOURCES}
  ${GANOPS_EMU_KERNEL_SOURCES} ${GANOPS_EMU_RUNTIME_SOURCES})
ganops_library_settings(ganops_emu)
# The emulated runtime's cuda_runtime.h comes before any CUDA toolkit on the include path.
target_include_directories(ganops_emu BEFORE PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/core/emu/include>)
target_compile_definitions(ganops_emu PUBLIC GANOPS_WITH_CUDA=1 GANOPS_EMULATED=1)
find_package(Threads REQUIRED)
target_link_libraries(ganops_emu PUBLIC Threads::Threads)
