# prog_fuzzer and prog_replay: the program language's parsers and codecs
# (prog/), every form round-tripping (prog_fuzzer.c).  Included from
# fuzzers/CMakeLists.txt; needs prog/ only.
#
#   prog_fuzzer   the fuzz target (any engine: mmf_fuzz_target)
#   prog_replay   no engine: the same check on files and dirs
#
# Seeds: the text programs of corpus/programs, corpus/sched and corpus/race
# and the binary seeds of diff_fuzzer and sched_fuzzer (no copy of them:
# scripts/campaign.sh and oss-fuzz/build.sh take them from there).
add_library(mmf_prog_fuzz_common OBJECT prog_fuzzer.c fuzz_env.c)
target_link_libraries(mmf_prog_fuzz_common PUBLIC mmf_prog mmf_api)

add_executable(prog_replay prog_replay.c replay_walk.c $<TARGET_OBJECTS:mmf_prog_fuzz_common>)
target_link_libraries(prog_replay PRIVATE mmf_prog mmf_api)

mmf_fuzz_target(prog_fuzzer mmf_prog_fuzz_common mmf_prog mmf_api)

# ---- ctest: every shipped program and seed round-trips in every form -------
set(_corpus ${CMAKE_SOURCE_DIR}/corpus)
set(_prog_seeds)
foreach(_dir programs sched race regressions regressions-sched diff_fuzzer sched_fuzzer race_fuzzer)
  if(EXISTS ${_corpus}/${_dir})
    list(APPEND _prog_seeds ${_corpus}/${_dir})
  endif()
endforeach()
add_test(NAME prog_replay.corpus COMMAND prog_replay ${_prog_seeds})
