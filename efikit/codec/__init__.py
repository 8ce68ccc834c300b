"""efikit.codec"""
