# cmake -DTS_FILES="a.ts;b.ts" [-DSTAMP=file] -P CheckTranslations.cmake
# Fails when a translation file has an entry not translated yet ("unfinished"), or one whose
# source text is gone from the code ("vanished", "obsolete"): every string a user sees is
# translated, and the files hold nothing else.
set(problems "")
foreach(ts IN LISTS TS_FILES)
  file(READ "${ts}" content)
  string(REGEX MATCHALL "type=\"(unfinished|vanished|obsolete)\"" marks "${content}")
  list(LENGTH marks count)
  if(count GREATER 0)
    get_filename_component(name "${ts}" NAME)
    string(REGEX MATCH "<source>[^<]*</source>[^<]*(<comment>[^<]*</comment>[^<]*)?(<extracomment>[^<]*</extracomment>[^<]*)?<translation type=\"(unfinished|vanished|obsolete)\"" first "${content}")
    string(REGEX MATCH "<source>[^<]*</source>" first "${first}")
    string(APPEND problems "  ${name}: ${count} entries not translated or no longer in the code; the first: ${first}\n")
  endif()
endforeach()
if(problems)
  message(FATAL_ERROR "Unfinished translations (run `make translations`, then translate with linguist):\n${problems}")
endif()
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
