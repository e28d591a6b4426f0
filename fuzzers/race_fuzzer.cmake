# race_fuzzer and race_replay (issue 6, item 1): concurrent programs on the
# core with real threads, under ThreadSanitizer.  Included from
# fuzzers/CMakeLists.txt.
#
# Built only when "thread" is in MMF_SANITIZE (presets tsan: race_replay;
# libfuzzer-tsan: race_fuzzer and race_replay).  Under ASan the target makes
# no sense: data races are invisible to it, and a use-after-free is seen
# only when a race happens to reach freed memory -- TSan reports both the
# unsynchronised access and the free.  The TSan options (halt_on_error=1)
# are compiled into the target (__tsan_default_options, race_fuzzer.c).
#
#   race_fuzzer   libFuzzer + TSan (MMF_FUZZ_ENGINE=libfuzzer, or external
#                 with a libFuzzer-compatible $LIB_FUZZING_ENGINE: oss-fuzz/build.sh)
#   race_replay   no engine: replays files and dirs, --repeat N times each
#
# ctest (TSan builds): the seed corpus and the race regressions, 5 runs each
# (a clean core must be TSan-clean on every run; no test needs a race to
# happen).  The text/binary sync of corpus/race and corpus/race_fuzzer is
# corpus_in_sync's (corpus_sync.cmake, every build).
if(NOT "thread" IN_LIST MMF_SANITIZE)
  return()
endif()
if(NOT TARGET mmf_core)
  message(STATUS "fuzzers: core/ not built; race_fuzzer skipped")
  return()
endif()

add_library(mmf_race_common OBJECT race_fuzzer.c race_tsan_hook.c cprog_mutator.c mutate_prog.c
            bound_op.c fuzz_env.c)
target_link_libraries(mmf_race_common PUBLIC mmf_all)
# the TSan report hook names __start___sancov_cntrs: no coverage pass there
# (see the top of race_tsan_hook.c)
set_source_files_properties(race_tsan_hook.c PROPERTIES COMPILE_OPTIONS "-fno-sanitize=fuzzer-no-link")

add_executable(race_replay race_replay.c replay_walk.c $<TARGET_OBJECTS:mmf_race_common>)
target_link_libraries(race_replay PRIVATE mmf_all)

if(MMF_FUZZ_ENGINE STREQUAL "libfuzzer" OR MMF_FUZZ_ENGINE STREQUAL "external")
  mmf_fuzz_target(race_fuzzer mmf_race_common mmf_all)
elseif(NOT MMF_FUZZ_ENGINE STREQUAL "none")
  message(STATUS "fuzzers: race_fuzzer is libFuzzer-only (MMF_FUZZ_ENGINE=${MMF_FUZZ_ENGINE}); race_replay only")
endif()

# ---- ctest -----------------------------------------------------------------
set(_race_corpus ${CMAKE_SOURCE_DIR}/corpus)
add_test(NAME race.corpus
         COMMAND race_replay --repeat 5 ${_race_corpus}/race_fuzzer ${_race_corpus}/race)
set_tests_properties(race.corpus PROPERTIES TIMEOUT 300)
# the same under delay injection (race_replay --jitter, core/sync.h): the
# delays widen every window, and the clean core must stay clean (on the
# SEQ_RECHECK zoo bug they turn fault_vs_mprotect's 0/10 into 7-10/10)
add_test(NAME race.corpus_jitter
         COMMAND race_replay --repeat 5 --jitter 64 ${_race_corpus}/race_fuzzer
                 ${_race_corpus}/race ${_race_corpus}/regressions-race)
set_tests_properties(race.corpus_jitter PROPERTIES TIMEOUT 300
  PASS_REGULAR_EXPRESSION "jitter 64/1024, seed [0-9]+\n.* 0 failed")
# the disjoint rewrite as documented: thread 1's copy of the setup's shared
# mapping of f0 is its own file f1 (= 0*T + 1) in its window 0x40000000
add_test(NAME race.disjoint_rewrite
         COMMAND race_replay --fmt ${_race_corpus}/race/disjoint_files.mmf)
set_tests_properties(race.disjoint_rewrite PROPERTIES PASS_REGULAR_EXPRESSION
  "#   mmap p0 0x40400000 0x8000 rw- shared f1 fixed\n.*#   thread 3\n#       truncate f3 0x1000\n#       read p0 0xa0402000")
if(EXISTS ${_race_corpus}/regressions-race)
  add_test(NAME race.regressions
           COMMAND race_replay --repeat 5 ${_race_corpus}/regressions-race)
  set_tests_properties(race.regressions PROPERTIES TIMEOUT 300)
endif()
