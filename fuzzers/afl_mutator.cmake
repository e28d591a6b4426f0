# fuzzers/afl_mutator.cmake - the AFL++ custom mutators of diff_fuzzer and
# sched_fuzzer and their smoke tests; in AFL++ builds also the stability test
# (included from fuzzers/CMakeLists.txt).
#
#   diff_fuzzer_mutator.so   afl_mutator.c (the afl_custom_* adapter) over
#                            mutator.c, the structure-aware mutator libFuzzer
#                            uses; beside the targets, so afl-fuzz gets
#                            AFL_CUSTOM_MUTATOR_LIBRARY=<build>/fuzzers/diff_fuzzer_mutator.so
#   sched_fuzzer_mutator.so  the same adapter over cprog_mutator.c, the
#                            concurrent mutator (schedule edits included)
#   afl_mutator_smoke        ctest: dlopen it, drive it on corpus/diff_fuzzer
#                            (afl_sched_mutator_smoke: sched_fuzzer's, on
#                            corpus/sched_fuzzer)
#   afl_stability            ctest, afl preset only: diff_fuzzer's persistent-mode
#                            stability on the corpus (afl_stability.c)
#
# afl-fuzz dlopen()s the library into its own process, so it must be
# position independent and carry no instrumentation: AFL++ coverage code in
# it would write into the target's shared map (and need afl's runtime), and
# a sanitizer would need its runtime in afl-fuzz.  So its sources -- the
# mutator and the program language it decodes/encodes (every source of
# mmf_prog and mmf_api, whatever those targets hold) -- are compiled once
# more for it: PIC, hidden visibility (only afl_custom_* exported), and in
# an AFL++ build with AFL_NOOPT=1 (afl-cc then compiles like plain clang),
# without sanitizer or coverage flags.  In other builds (debug, asan, tsan,
# ...) the library keeps their sanitizers, so that the smoke test checks the
# mutator under ASan+UBSan too.  Not built with libFuzzer (it has its own
# hook, LLVMFuzzerCustomMutator) nor for OSS-Fuzz's $LIB_FUZZING_ENGINE.
if(MMF_FUZZ_ENGINE STREQUAL "libfuzzer" OR MMF_FUZZ_ENGINE STREQUAL "external")
  return()
endif()

# mmf_afl_mutator(NAME SRC...): NAME.so from afl_mutator.c over the
# LLVMFuzzerCustomMutator/CrossOver of SRC, with the program language inside
function(mmf_afl_mutator name)
  set(_mut_src afl_mutator.c ${ARGN})
  foreach(_lib mmf_prog mmf_api)
    get_target_property(_srcs ${_lib} SOURCES)
    get_target_property(_dir ${_lib} SOURCE_DIR)
    foreach(_s ${_srcs})
      if(_s MATCHES "\\.c$")
        if(NOT IS_ABSOLUTE "${_s}")
          set(_s "${_dir}/${_s}")
        endif()
        list(APPEND _mut_src "${_s}")
      endif()
    endforeach()
  endforeach()

  add_library(${name} SHARED ${_mut_src})
  set_target_properties(${name} PROPERTIES
    PREFIX "" POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
  target_include_directories(${name} PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}
    $<TARGET_PROPERTY:mmf_prog,INCLUDE_DIRECTORIES>
    $<TARGET_PROPERTY:mmf_api,INCLUDE_DIRECTORIES>)
  target_compile_definitions(${name} PRIVATE
    $<TARGET_PROPERTY:mmf_prog,COMPILE_DEFINITIONS>
    $<TARGET_PROPERTY:mmf_api,COMPILE_DEFINITIONS>)

  # no profile/coverage instrumentation in any build
  foreach(_prop COMPILE_OPTIONS LINK_OPTIONS)
    get_target_property(_opts ${name} ${_prop})
    if(_opts)
      list(FILTER _opts EXCLUDE REGEX "^-fprofile-|^-fcoverage-")
      if(MMF_FUZZ_ENGINE STREQUAL "afl")
        list(FILTER _opts EXCLUDE REGEX "^-fsanitize")
      endif()
      set_target_properties(${name} PROPERTIES ${_prop} "${_opts}")
    endif()
  endforeach()
  if(MMF_FUZZ_ENGINE STREQUAL "afl")
    if(CMAKE_C_COMPILER MATCHES "afl-")
      set_target_properties(${name} PROPERTIES
        C_COMPILER_LAUNCHER "${CMAKE_COMMAND};-E;env;AFL_NOOPT=1"
        LINKER_LAUNCHER "${CMAKE_COMMAND};-E;env;AFL_NOOPT=1")
    endif()
    # everything it needs is inside: an unresolved symbol fails here, not in afl-fuzz
    target_link_options(${name} PRIVATE -Wl,--no-undefined)
  endif()
endfunction()

mmf_afl_mutator(diff_fuzzer_mutator mutator.c mutate_prog.c)
# sched_fuzzer's: the concurrent mutator (cprog_mutator.c, schedule edits on)
if(TARGET mmf_sched_fuzz_common)
  mmf_afl_mutator(sched_fuzzer_mutator cprog_mutator.c mutate_prog.c afl_sched_mutator.c)
endif()

add_executable(afl_mutator_smoke afl_mutator_smoke.c replay_walk.c)
target_link_libraries(afl_mutator_smoke PRIVATE mmf_prog ${CMAKE_DL_LIBS})
add_dependencies(afl_mutator_smoke diff_fuzzer_mutator)
add_test(NAME afl_mutator_smoke
         COMMAND afl_mutator_smoke $<TARGET_FILE:diff_fuzzer_mutator> ${CMAKE_SOURCE_DIR}/corpus/diff_fuzzer)
if(TARGET sched_fuzzer_mutator)
  add_dependencies(afl_mutator_smoke sched_fuzzer_mutator)
  add_test(NAME afl_sched_mutator_smoke
           COMMAND afl_mutator_smoke --concurrent $<TARGET_FILE:sched_fuzzer_mutator>
                   ${CMAKE_SOURCE_DIR}/corpus/sched_fuzzer)
endif()

# ---- AFL++ builds: afl_stability, diff_fuzzer's persistent-mode stability ----
# afl_stability.c (uninstrumented, like the mutator) linked with diff_fuzzer's
# instrumented objects runs every seed of corpus/diff_fuzzer 3 times in one process,
# the way afl-fuzz calibrates, and fails on any edge whose hit-count bucket
# varies (what afl-fuzz reports as stability < 100%).  Only the afl preset
# runs it (ctest --test-dir build/afl -R afl_stability).
if(MMF_FUZZ_ENGINE STREQUAL "afl" AND TARGET diff_fuzzer)
  add_library(mmf_afl_stability_obj OBJECT afl_stability.c)
  if(CMAKE_C_COMPILER MATCHES "afl-")
    set_target_properties(mmf_afl_stability_obj PROPERTIES
      C_COMPILER_LAUNCHER "${CMAKE_COMMAND};-E;env;AFL_NOOPT=1")
  endif()
  add_executable(afl_stability replay_walk.c $<TARGET_OBJECTS:mmf_afl_stability_obj>
                 $<TARGET_OBJECTS:mmf_fuzz_common>)
  target_link_libraries(afl_stability PRIVATE mmf_all)
  add_test(NAME afl_stability
           COMMAND afl_stability --reps 3 ${CMAKE_SOURCE_DIR}/corpus/diff_fuzzer)
endif()
