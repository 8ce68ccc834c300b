#include "efikit_native.h"

int efikit_native_abi_version(void) { return 1; }
