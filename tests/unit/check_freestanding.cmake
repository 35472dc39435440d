# cmake -DNM=<nm> -DLIB=<librcore.a> -P check_freestanding.cmake
# Fails when an object of the library imports a symbol that is not rcore's
# own (a libc call, or a compiler helper the kernel would not provide).
# memcpy, memmove, memset and memcmp are allowed: compilers may emit calls
# to them for struct copies and initialisers even in freestanding code
# (GCC and Clang document this), and the kernel provides them.
execute_process(COMMAND ${NM} -u ${LIB}
	OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "${NM} -u ${LIB} failed")
endif()
string(REGEX MATCHALL "U [^\n]+" undef "${out}")
set(bad "")
set(count 0)
foreach(u ${undef})
	string(REGEX REPLACE "^U " "" sym "${u}")
	math(EXPR count "${count} + 1")
	if(NOT sym MATCHES "^(rcore_.*|memcpy|memmove|memset|memcmp)$")
		list(APPEND bad ${sym})
	endif()
endforeach()
if(count EQUAL 0)
	message(FATAL_ERROR "no undefined symbols at all in ${LIB}: wrong file?")
endif()
if(bad)
	message(FATAL_ERROR "rcore imports non-rcore symbols: ${bad}")
endif()
message(STATUS "${count} imports, all rcore_*")
