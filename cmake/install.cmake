# ember as a package for students' own projects (included from the top-level CMakeLists.txt).
#
#   cmake --install build --prefix ~/ember-install
#
# puts the headers in include/ember/ (the folder layout kept, so #include "core/ops.h" works), the
# libraries in lib/, and the CMake package in lib/cmake/ember/. A project then builds with
#
#   find_package(ember REQUIRED)            # -DCMAKE_PREFIX_PATH=~/ember-install
#   target_link_libraries(my_program PRIVATE ember::ember)
#
# ember::ember is everything; ember::core, ember::layers, ember::optim, ember::datasets,
# ember::metrics and ember::lessons_common are the layers one by one. The package finds OpenMP,
# Threads, zlib and nlohmann_json itself and carries the OpenBLAS library and the stb folder this
# build found, so a student links nothing by hand.
#
# The build folder is a package too (build/emberConfig.cmake): -Dember_DIR=build links against the
# libraries just built, without installing them (the exercise checks in tests/ use that).
if(NOT EMBER_INSTALL)
  return()
endif()

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(EMBER_INSTALL_TARGETS ember_core ember_layers ember_optim ember_datasets ${EMBER_METRICS_LIBRARY}
    ember_distributed ember_lessons_common ember)
if(EMBER_CUDA_FOUND)
  list(APPEND EMBER_INSTALL_TARGETS ember_cuda)  # the CUDA backend, which ember_core links
endif()
set(EMBER_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ember)

install(TARGETS ${EMBER_INSTALL_TARGETS} EXPORT emberTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# The headers of every layer, in the same folders as in the source tree.
set(EMBER_HEADER_DIRS core layers optim datasets distributed lessons/common)
if(EMBER_METRICS_LIBRARY)
  list(APPEND EMBER_HEADER_DIRS metrics)
endif()
foreach(dir ${EMBER_HEADER_DIRS})
  get_filename_component(parent ${dir} DIRECTORY)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ember/${parent}
          FILES_MATCHING PATTERN "*.h")
endforeach()

install(EXPORT emberTargets NAMESPACE ember:: DESTINATION ${EMBER_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/emberConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/install/emberConfig.cmake
                              INSTALL_DESTINATION ${EMBER_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/install/emberConfig.cmake ${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
        DESTINATION ${EMBER_INSTALL_CMAKEDIR})

# The same package, pointing at this build folder.
export(EXPORT emberTargets NAMESPACE ember:: FILE ${PROJECT_BINARY_DIR}/emberTargets.cmake)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/emberConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/emberConfig.cmake
                              INSTALL_DESTINATION ${PROJECT_BINARY_DIR} INSTALL_PREFIX ${PROJECT_BINARY_DIR})
