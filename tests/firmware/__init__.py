"""The real-firmware tier (marker `firmware`): OVMF under QEMU, swtpm, Secure Boot."""
