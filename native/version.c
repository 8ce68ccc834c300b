#include "efikit_native.h"

/* Bump with every change to the declarations in efikit_native.h (and EXPECTED_ABI). */
int efikit_native_abi_version(void) { return 7; }
