# sched_fuzzer: the core on the deterministic backend (mmf_core_sched), its
# histories checked for linearizability on the reference (diff/linearize.c).
#
#   sched_fuzzer   with the engine (MMF_FUZZ_ENGINE), like diff_fuzzer
#   sched_replay   no engine: replays files; ctest runs the corpus and the
#                  regressions with it (each input twice: determinism)
if(NOT TARGET mmf_core_sched OR NOT EXISTS ${CMAKE_SOURCE_DIR}/diff/linearize.c)
  message(STATUS "fuzzers: no mmf_core_sched or diff/linearize.c yet; sched_fuzzer skipped")
  return()
endif()

add_library(mmf_sched_fuzz_common OBJECT sched_fuzzer.c sched_explore.c cprog_mutator.c mutate_prog.c bound_op.c fuzz_env.c)
target_include_directories(mmf_sched_fuzz_common PUBLIC ${CMAKE_SOURCE_DIR}/core)
target_link_libraries(mmf_sched_fuzz_common PUBLIC mmf_diff mmf_prog mmf_reference
                      mmf_core_sched mmf_api)
if(MMF_CHECK_EVERY_OP)
  target_compile_definitions(mmf_sched_fuzz_common PRIVATE MMF_CHECK_EVERY_OP=1)
endif()

add_executable(sched_replay sched_replay.c replay_walk.c
               $<TARGET_OBJECTS:mmf_sched_fuzz_common>)
target_link_libraries(sched_replay PRIVATE mmf_sched_fuzz_common)

mmf_fuzz_target(sched_fuzzer mmf_sched_fuzz_common mmf_sched_fuzz_common)

set(_corpus ${CMAKE_SOURCE_DIR}/corpus)
foreach(_dir sched_fuzzer sched regressions-sched)
  if(EXISTS ${_corpus}/${_dir})
    add_test(NAME sched_replay.${_dir} COMMAND sched_replay ${_corpus}/${_dir})
  endif()
endforeach()
# the concurrent targets' mutator (cprog_mutator.c): mutants of every seed
# must fit, decode and pass, and some must have a longer schedule
add_test(NAME sched_mutator_smoke COMMAND sched_replay --mutate 32 ${_corpus}/sched_fuzzer)
# sched_replay on a core with one zoo bug (zoo/README.md): SOURCE (a file of
# core/) built with -DMMF_ZOO_<BUG> comes first on the link line, so the core
# archive's own object of that file is never pulled in
function(mmf_sched_replay_zoo name bug source)
  add_library(mmf_zoo_${name} OBJECT ${CMAKE_SOURCE_DIR}/core/${source})
  target_compile_definitions(mmf_zoo_${name} PRIVATE MMF_ZOO_${bug}=1)
  target_link_libraries(mmf_zoo_${name} PRIVATE mmf_core_sched)
  add_executable(sched_replay_zoo_${name} sched_replay.c replay_walk.c
                 $<TARGET_OBJECTS:mmf_zoo_${name}> $<TARGET_OBJECTS:mmf_sched_fuzz_common>)
  target_link_libraries(sched_replay_zoo_${name} PRIVATE mmf_sched_fuzz_common)
endfunction()
# the schedule search on a known race (FORK_NO_FREEZE): it must find it and
# its bytes replay it
mmf_sched_replay_zoo(fork FORK_NO_FREEZE fork.c)
add_test(NAME sched_explore_finds_zoo_fork
         COMMAND sched_replay_zoo_fork --explore --budget 5000
                 ${_corpus}/sched/fork_vs_lockless_write.mmf)
set_tests_properties(sched_explore_finds_zoo_fork PROPERTIES
  PASS_REGULAR_EXPRESSION "FAIL [^\n]*explore: systematic[^\n]*, replayed\\)")
# the fault/truncate regression must still fail on the unfixed check
# (FAULT_ANON_AFTER_UNLOCK): its schedule bytes aim at one scheduling point,
# which a change of the core's points moves (they did: the lock-free write
# mark added one, and the file passed on the bug)
mmf_sched_replay_zoo(fault FAULT_ANON_AFTER_UNLOCK fault.c)
add_test(NAME sched_regression_fails_unfixed_fault
         COMMAND sched_replay_zoo_fault
                 ${_corpus}/regressions-sched/fault_anon_check_vs_truncate.mmf)
set_tests_properties(sched_regression_fails_unfixed_fault PROPERTIES
  PASS_REGULAR_EXPRESSION "heap-use-after-free[^\n]* in write_needs_new_page")
# the two truncate-walk regressions must still fail on their unfixed code:
# fork's child at the head of i_mmap (FORK_CHILD_FIRST_IN_I_MMAP), mremap's
# page-table move without i_mmap_rwsem (MREMAP_MOVE_NO_RMAP_LOCK)
mmf_sched_replay_zoo(fork_i_mmap FORK_CHILD_FIRST_IN_I_MMAP fork.c)
mmf_sched_replay_zoo(mremap_rmap MREMAP_MOVE_NO_RMAP_LOCK mremap.c)
add_test(NAME sched_regression_fails_unfixed_fork_i_mmap
         COMMAND sched_replay_zoo_fork_i_mmap
                 ${_corpus}/regressions-sched/fork_child_in_i_mmap_vs_truncate.mmf)
set_tests_properties(sched_regression_fails_unfixed_fork_i_mmap PROPERTIES
  PASS_REGULAR_EXPRESSION "FAIL [^\n]*invariant:pte_beyond_eof")
add_test(NAME sched_regression_fails_unfixed_mremap_rmap
         COMMAND sched_replay_zoo_mremap_rmap
                 ${_corpus}/regressions-sched/mremap_move_vs_truncate.mmf)
set_tests_properties(sched_regression_fails_unfixed_mremap_rmap PROPERTIES
  PASS_REGULAR_EXPRESSION "FAIL [^\n]*invariant:pte_beyond_eof")
