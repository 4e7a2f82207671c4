# cmake -DNPM=npm -DSOURCE_DIR=reporter/web -DBUILD_DIR=<build>/reporter/web -P npm_install.cmake
# Installs exactly what package-lock.json pins into BUILD_DIR/node_modules
# (`npm ci`, from npm's cache when it has the packages). On failure, one
# message saying what to do instead of npm's log alone.
foreach(f package.json package-lock.json)
  configure_file(${SOURCE_DIR}/${f} ${BUILD_DIR}/${f} COPYONLY)
endforeach()
execute_process(
  COMMAND ${NPM} ci --prefer-offline --no-audit --no-fund --loglevel=error
  WORKING_DIRECTORY ${BUILD_DIR}
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR
    "npm ci failed in ${BUILD_DIR} (see npm's message above). The HTML flame graph needs d3 and "
    "d3-flame-graph from the npm registry, or from npm's cache (~/.npm) filled by an earlier build. "
    "Without either, configure with -DLEAKTRACE_HTML_FLAMEGRAPH=OFF (export --format html is then refused).")
endif()
