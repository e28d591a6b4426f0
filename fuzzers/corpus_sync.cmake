# ctest corpus_in_sync: every corpus/programs/NAME.mmf, assembled, must equal
# the binary seed corpus/diff_fuzzer/NAME (run corpus/regen.sh after editing).
#   cmake -DREPLAY=diff_replay -DCORPUS=corpus -DTMP=dir -P corpus_sync.cmake
file(REMOVE_RECURSE ${TMP})
file(MAKE_DIRECTORY ${TMP})
execute_process(COMMAND ${REPLAY} --asm ${TMP} ${CORPUS}/programs RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "diff_replay --asm failed (${rc})")
endif()
file(GLOB progs ${CORPUS}/programs/*.mmf)
set(bad 0)
foreach(p ${progs})
  get_filename_component(name ${p} NAME_WE)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${TMP}/${name} ${CORPUS}/diff_fuzzer/${name}
                  RESULT_VARIABLE differ)
  if(NOT differ EQUAL 0)
    message(SEND_ERROR "corpus/diff_fuzzer/${name} is not the binary form of corpus/programs/${name}.mmf: run corpus/regen.sh")
    set(bad 1)
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "corpus out of sync")
endif()
message(STATUS "corpus in sync")
