"""efikit.slots"""
