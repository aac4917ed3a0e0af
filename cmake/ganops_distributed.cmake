# ganops_distributed (nn/distributed): data-parallel training over MPI (processes, CPU
# tensors) and NCCL (GPU tensors). A static library beside libganops, so that the library
# itself never depends on MPI. Each backend is built when found (AUTO), must be found (ON)
# or is left out (OFF); without MPI the module still builds and every run is one process.
set(GANOPS_WITH_MPI AUTO CACHE STRING "MPI backend of nn/distributed: AUTO (when found), ON or OFF")
set(GANOPS_WITH_NCCL AUTO CACHE STRING "NCCL backend of nn/distributed: AUTO (when found), ON or OFF")
set_property(CACHE GANOPS_WITH_MPI PROPERTY STRINGS AUTO ON OFF)
set_property(CACHE GANOPS_WITH_NCCL PROPERTY STRINGS AUTO ON OFF)

set(GANOPS_HAVE_MPI OFF)
set(MPI_CXX_SKIP_MPICXX ON)  # the C API only: no C++ bindings to link
if(GANOPS_WITH_MPI)
  if(GANOPS_WITH_MPI STREQUAL "ON")
    find_package(MPI REQUIRED COMPONENTS CXX)
  else()
    find_package(MPI QUIET COMPONENTS CXX)
  endif()
  if(TARGET MPI::MPI_CXX)
    set(GANOPS_HAVE_MPI ON)
  endif()
endif()

# NCCL: nccl.h and libnccl (a CUDA install, Debian's libnccl-dev, or the nvidia-nccl-cu13
# wheel), the CUDA runtime's headers that nccl.h includes (the toolkit, or the
# nvidia-cuda-runtime wheel), and MPI to hand every rank the communicator's id. No nvcc.
# In a build without CUDA no tensor is on a GPU, so the backend is only compiled (target
# ganops_nccl_compile_check), which keeps it building on CI machines without a GPU.
set(GANOPS_HAVE_NCCL OFF)
set(GANOPS_NCCL_ROOT "" CACHE PATH "Folder holding include/nccl.h and lib/libnccl.so*, when not on the system paths")
if(GANOPS_WITH_NCCL AND GANOPS_HAVE_MPI)
  if(NOT TARGET CUDA::cudart)
    find_package(CUDAToolkit QUIET)
  endif()
  # pip's wheels: <site-packages>/nvidia/nccl and <site-packages>/nvidia/cu13.
  set(_site "")
  find_program(GANOPS_PYTHON NAMES python3 HINTS ${Python3_EXECUTABLE})
  if(GANOPS_PYTHON)
    execute_process(COMMAND ${GANOPS_PYTHON} -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
      OUTPUT_VARIABLE _site OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  find_path(GANOPS_NCCL_INCLUDE_DIR nccl.h HINTS ${GANOPS_NCCL_ROOT}/include ${CUDAToolkit_INCLUDE_DIRS} ${_site}/nvidia/nccl/include)
  find_library(GANOPS_NCCL_LIBRARY NAMES nccl libnccl.so.2
    HINTS ${GANOPS_NCCL_ROOT}/lib ${CUDAToolkit_LIBRARY_DIR} ${_site}/nvidia/nccl/lib)
  find_path(GANOPS_CUDART_INCLUDE_DIR cuda_runtime.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${_site}/nvidia/cu13/include)
  if(GANOPS_NCCL_INCLUDE_DIR AND GANOPS_NCCL_LIBRARY AND GANOPS_CUDART_INCLUDE_DIR)
    set(GANOPS_HAVE_NCCL ON)
  endif()
endif()
if(GANOPS_WITH_NCCL STREQUAL "ON" AND NOT GANOPS_HAVE_NCCL)
  message(FATAL_ERROR "GANOPS_WITH_NCCL=ON: NCCL (nccl.h, libnccl), the CUDA runtime headers or MPI not found")
endif()
if(GANOPS_HAVE_NCCL AND NOT GANOPS_WITH_CUDA)
  message(STATUS "ganops_distributed: MPI ${GANOPS_HAVE_MPI}, NCCL compiled only (a build without CUDA): ${GANOPS_NCCL_INCLUDE_DIR}")
else()
  message(STATUS "ganops_distributed: MPI ${GANOPS_HAVE_MPI}, NCCL ${GANOPS_HAVE_NCCL}")
endif()

set(_dist ${PROJECT_SOURCE_DIR}/nn/distributed)
add_library(ganops_distributed STATIC ${_dist}/communicator.cpp ${_dist}/data_parallel.cpp ${_dist}/launch.cpp
  ${_dist}/sync_batchnorm.cpp)
target_link_libraries(ganops_distributed PUBLIC ganops::ganops)
target_compile_options(ganops_distributed PRIVATE -ffp-contract=off)
ganops_warnings(ganops_distributed)
set_target_properties(ganops_distributed PROPERTIES POSITION_INDEPENDENT_CODE ON)
if(GANOPS_HAVE_MPI)
  target_sources(ganops_distributed PRIVATE ${_dist}/mpi_communicator.cpp)
  target_link_libraries(ganops_distributed PRIVATE MPI::MPI_CXX)
  target_compile_definitions(ganops_distributed PRIVATE GANOPS_WITH_MPI=1)
endif()
if(GANOPS_HAVE_NCCL AND GANOPS_WITH_CUDA)
  target_sources(ganops_distributed PRIVATE ${_dist}/nccl_communicator.cpp)
  target_include_directories(ganops_distributed PRIVATE ${GANOPS_NCCL_INCLUDE_DIR} ${GANOPS_CUDART_INCLUDE_DIR})
  target_link_libraries(ganops_distributed PRIVATE ${GANOPS_NCCL_LIBRARY})
  target_compile_definitions(ganops_distributed PRIVATE GANOPS_WITH_NCCL=1)
elseif(GANOPS_HAVE_NCCL)
  add_library(ganops_nccl_compile_check OBJECT ${_dist}/nccl_communicator.cpp)
  target_include_directories(ganops_nccl_compile_check PRIVATE ${PROJECT_SOURCE_DIR} ${GANOPS_NCCL_INCLUDE_DIR} ${GANOPS_CUDART_INCLUDE_DIR})
  target_link_libraries(ganops_nccl_compile_check PRIVATE MPI::MPI_CXX)
  ganops_warnings(ganops_nccl_compile_check)
endif()
