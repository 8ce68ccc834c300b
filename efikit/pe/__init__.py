"""efikit.pe: PE/COFF EFI loaders.

Modules (import the one you need; only ``inspect`` and ``signature`` load pefile/asn1crypto):

- ``layout``       validated header layout (offsets the hash and the certificate table trust)
- ``certtable``    the security directory and its WIN_CERTIFICATE entries (read and encode)
- ``authenticode`` the Authenticode hash as edk2 computes it (streaming; ``padded`` = pesign -P)
- ``checksum``     the optional-header CheckSum
- ``signature``    Authenticode PKCS#7: signed digest, signers (asn1crypto)
- ``sbat``, ``uki`` the .sbat CSV and unified-kernel-image sections, per-slot command line
- ``slot``         the slot from a plain path or device-path text (rule: efikit.codec.slot_rule)
- ``inspect``      everything together (pefile)
"""
