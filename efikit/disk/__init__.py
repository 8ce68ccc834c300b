"""efikit.disk: GPT partition tables of disk images and block devices."""
from __future__ import annotations

from efikit.disk.gpt import ESP_TYPE, GptDisk, Partition, find_partition, read_gpt

__all__ = ["ESP_TYPE", "GptDisk", "Partition", "find_partition", "read_gpt"]
