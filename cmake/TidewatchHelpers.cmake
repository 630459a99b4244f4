# Small helpers that keep each folder's CMakeLists.txt a few lines long
# (in the spirit of abseil's CMake/AbseilHelpers.cmake).

# The one warnings list of the project.
set(TIDEWATCH_WARNINGS -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 at -O3 reports -Wrestrict false positives inside libstdc++'s
  # std::string operator+ (GCC bug 105329); it is fixed in GCC 13.
  list(APPEND TIDEWATCH_WARNINGS -Wno-restrict)
endif()

# Applies TIDEWATCH_SANITIZE to every target defined after the call.
function(tidewatch_configure_sanitizers)
  if(TIDEWATCH_SANITIZE STREQUAL "")
    return()
  endif()
  if(NOT TIDEWATCH_SANITIZE MATCHES "^(address,undefined|undefined,address|address|undefined|thread)$")
    message(FATAL_ERROR "TIDEWATCH_SANITIZE must be 'address,undefined' or 'thread', got '${TIDEWATCH_SANITIZE}'")
  endif()
  set(flags -fsanitize=${TIDEWATCH_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options(${flags})
  add_link_options(${flags})
  # Lets stress tests scale their item counts down under the (10x slower) sanitizers.
  add_compile_definitions(TIDEWATCH_SANITIZED=1)
endfunction()

function(_tidewatch_apply_warnings target)
  target_compile_options(${target} PRIVATE ${TIDEWATCH_WARNINGS})
  if(TIDEWATCH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# tidewatch_library(NAME SRCS a.cc b.cc DEPS x y)
# A static library tidewatch_NAME whose headers are included as "NAME/header.h".
function(tidewatch_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(tidewatch_${name} STATIC ${ARG_SRCS})
  target_include_directories(tidewatch_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(tidewatch_${name} PUBLIC ${ARG_DEPS})
  _tidewatch_apply_warnings(tidewatch_${name})
endfunction()

# tidewatch_executable(NAME SRCS ... DEPS ...)
function(tidewatch_executable name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  _tidewatch_apply_warnings(${name})
endfunction()

# tidewatch_test(NAME SRCS ... DEPS ... LABELS unit|concurrency|integration ...)
# A GoogleTest binary registered with ctest; every test case becomes its own ctest
# entry carrying LABELS, so `ctest -L concurrency` selects the tests that TSan reruns.
function(tidewatch_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} tidewatch_test_main GTest::gtest
                                        GTest::gmock Threads::Threads)
  _tidewatch_apply_warnings(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()
