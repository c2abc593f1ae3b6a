# cmake -DLUPDATE=... -DSOURCE_DIR=... -DWORK_DIR=... -DTS_FILES="a.ts;b.ts" -P CheckTranslationsUpToDate.cmake
# Runs lupdate over the code into copies of the translation files: a string the code shows that
# the files do not translate yet (new, or changed) fails, as the build does for the files as
# committed. `make translations` brings the files up to date.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(copies "")
foreach(ts IN LISTS TS_FILES)
  get_filename_component(name "${ts}" NAME)
  file(COPY_FILE "${ts}" "${WORK_DIR}/${name}")
  list(APPEND copies "${WORK_DIR}/${name}")
endforeach()
execute_process(COMMAND "${LUPDATE}" -silent -locations none -no-obsolete ${SOURCE_DIR}/app ${SOURCE_DIR}/server
                        ${SOURCE_DIR}/ui -ts ${copies}
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "lupdate failed (${status})")
endif()
set(TS_FILES "${copies}")
include("${CMAKE_CURRENT_LIST_DIR}/CheckTranslations.cmake")
message(STATUS "Every string of the code is translated in ${copies}")
