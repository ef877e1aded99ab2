# Installs r1 into a scratch prefix, then builds and runs consumers through find_package, add_subdirectory and
# pkg-config. Inputs: BUILD_DIR (a configured r1 build), SOURCE_DIR, WORK_DIR, CC.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/r1.h lib/libr1.a bin/r1 lib/cmake/r1/r1Config.cmake lib/pkgconfig/r1.pc)
  file(GLOB found ${prefix}/${f} ${prefix}/lib/*/${f})
  if(NOT EXISTS ${prefix}/${f})
    string(REPLACE "lib/" "lib/*/" pattern ${f})
    file(GLOB found ${prefix}/${pattern})
    if(NOT found)
      message(FATAL_ERROR "install is missing ${f}")
    endif()
  endif()
endforeach()
run(${prefix}/bin/r1 version)

# find_package
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/find -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/find)
run(${WORK_DIR}/find/consumer_static)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib/x86_64-linux-gnu ${WORK_DIR}/find/consumer_shared)

# add_subdirectory
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/sub -DR1_SOURCE=${SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/sub)
run(${WORK_DIR}/sub/consumer_static)
run(${WORK_DIR}/sub/consumer_shared)

# pkg-config
file(GLOB pcdirs ${prefix}/lib/pkgconfig ${prefix}/lib/*/pkgconfig)
run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdirs} pkg-config --cflags --libs r1)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${CC} -std=c99 ${SOURCE_DIR}/tests/consumer/main.c ${flags} -o ${WORK_DIR}/pc_consumer)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib/x86_64-linux-gnu ${WORK_DIR}/pc_consumer)
message(STATUS "install, find_package, add_subdirectory and pkg-config consumers all work")
