#ifndef EFIKIT_NATIVE_H
#define EFIKIT_NATIVE_H
#include <stddef.h>
#include <stdint.h>

/* CDEF-BEGIN */
int efikit_native_abi_version(void);
/* CDEF-END */

#endif
