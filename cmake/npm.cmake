# Pinned npm dependencies (package-lock.json): the dashboard's uPlot, playwright-core
# for the browser test, and DuckDB's C header and shared library. They are installed
# at configure time, because the DuckDB imported target needs its files to exist, and
# again whenever the lockfile changes (it is a configure dependency).
find_program(LASTRO_NPM npm)
if(NOT LASTRO_NPM)
  message(FATAL_ERROR "npm not found: run scripts/install-deps")
endif()
# npm writes node_modules/.package-lock.json on every install: it is the stamp, kept
# beside the packages (not per build folder) so several build folders share one install.
set(LASTRO_NPM_STAMP ${CMAKE_SOURCE_DIR}/node_modules/.package-lock.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_SOURCE_DIR}/package.json ${CMAKE_SOURCE_DIR}/package-lock.json)
if(NOT EXISTS ${LASTRO_NPM_STAMP}
   OR ${CMAKE_SOURCE_DIR}/package-lock.json IS_NEWER_THAN ${LASTRO_NPM_STAMP})
  message(STATUS "npm ci --ignore-scripts (pinned dependencies)")
  execute_process(
    COMMAND ${LASTRO_NPM} ci --ignore-scripts --no-audit --no-fund --loglevel=error
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    RESULT_VARIABLE npm_result)
  if(NOT npm_result EQUAL 0)
    message(FATAL_ERROR "npm ci failed (${npm_result}): see the output above")
  endif()
endif()

# DuckDB 1.4.4 through its C API only (lake/ is the one folder that may link it).
set(LASTRO_DUCKDB_INCLUDE ${CMAKE_SOURCE_DIR}/node_modules/duckdb/src/duckdb/src/include)
set(LASTRO_DUCKDB_LIBRARY ${CMAKE_SOURCE_DIR}/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so)
if(NOT EXISTS ${LASTRO_DUCKDB_INCLUDE}/duckdb.h OR NOT EXISTS ${LASTRO_DUCKDB_LIBRARY})
  message(FATAL_ERROR "DuckDB not found under node_modules: delete node_modules and reconfigure")
endif()
add_library(duckdb_c SHARED IMPORTED GLOBAL)
set_target_properties(duckdb_c PROPERTIES
  IMPORTED_LOCATION ${LASTRO_DUCKDB_LIBRARY}
  IMPORTED_SONAME libduckdb.so)
# SYSTEM: DuckDB's header is third-party; our -Werror must not judge it.
target_include_directories(duckdb_c SYSTEM INTERFACE ${LASTRO_DUCKDB_INCLUDE})
