"""efikit.boot"""
