# ctest corpus_in_sync: every corpus/programs/NAME.mmf, assembled, must equal
# the binary seed corpus/diff_fuzzer/NAME, and every concurrent program
# corpus/sched/NAME.mmf (corpus/race/NAME.mmf) the seed corpus/sched_fuzzer/NAME
# (corpus/race_fuzzer/NAME) (run corpus/regen.sh after editing).
#   cmake -DREPLAY=diff_replay -DMMFUZZ=mmfuzz -DCORPUS=corpus -DTMP=dir -P corpus_sync.cmake
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
foreach(pair sched:sched_fuzzer race:race_fuzzer)
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 src)
  list(GET pair 1 dst)
  file(GLOB progs ${CORPUS}/${src}/*.mmf)
  foreach(p ${progs})
    get_filename_component(name ${p} NAME_WE)
    execute_process(COMMAND ${MMFUZZ} asm --concurrent ${p} -o ${TMP}/${src}-${name}
                    RESULT_VARIABLE rc)
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${TMP}/${src}-${name}
                            ${CORPUS}/${dst}/${name}
                    RESULT_VARIABLE differ)
    if(NOT rc EQUAL 0 OR NOT differ EQUAL 0)
      message(SEND_ERROR "corpus/${dst}/${name} is not the binary form of corpus/${src}/${name}.mmf: run corpus/regen.sh")
      set(bad 1)
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "corpus out of sync")
endif()
message(STATUS "corpus in sync")
