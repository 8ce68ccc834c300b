"""efikit.pe"""
