# ganops_warnings(target): the warning flags every ganops target is built with. The build is
# warning-free with them under g++ (host code, and the .cu files compiled as C++ by the
# emulated build) and nvcc (device code, and host code through -Xcompiler).
# GANOPS_WARNINGS_AS_ERRORS=ON turns every warning into an error (for CI).
option(GANOPS_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)

function(ganops_warnings target)
  set(cxx -Wall -Wextra)
  # GCC 12 at -O2/-O3 reports a -Wrestrict overlap inside std::string's operator+ that cannot
  # happen (GCC bug 105329, fixed in GCC 13): nn/checkpoint.cpp's header building trips it.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    list(APPEND cxx -Wno-restrict)
  endif()
  if(GANOPS_WARNINGS_AS_ERRORS)
    list(APPEND cxx -Werror)
  endif()
  list(JOIN cxx "," host)
  target_compile_options(${target} PRIVATE
    "$<$<COMPILE_LANGUAGE:CXX>:${cxx}>"
    # Host code through the host compiler; nvcc's own diagnostics (device code) as errors too.
    "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${host}>"
    "$<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${GANOPS_WARNINGS_AS_ERRORS}>>:-Werror=all-warnings>")
endfunction()
